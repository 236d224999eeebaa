// npm run --silent xml2argv -- --caps-replies <file.replies> <domain.xml>
import { runTool, xml2argv } from './qemu-test-env';

void runTool(process.argv.slice(2), xml2argv).then((code) => {
  process.exitCode = code;
});

// npm run --silent xml2xml -- --caps-replies <file.replies> <domain.xml>
import { runTool, xml2xml } from './qemu-test-env';

void runTool(process.argv.slice(2), xml2xml).then((code) => {
  process.exitCode = code;
});

// Runs one parity scenario through virtnode in a fresh node process (a pristine test:///default)
// and prints the outcomes as JSON; used while the test driver offers no resetDefaultState() hook.
import { runVirtnode, type Scenario } from './harness';

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', async () => {
  const scenario = JSON.parse(input) as Scenario;
  const outcomes = await runVirtnode(scenario);
  process.stdout.write(JSON.stringify(outcomes));
  process.exit(0);
});

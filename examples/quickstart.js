'use strict';
// The first thing a libvirt user tries: open the test driver, list domains, look at one.
const { Connect, Domain, VIR_CONNECT_LIST_DOMAINS_ACTIVE } = require('..');

async function main() {
  const conn = await Connect.open(process.argv[2] || 'test:///default');
  console.log(`connected to ${await conn.getURI()} (${await conn.getType()})`);
  const info = await conn.nodeGetInfo();
  console.log(`host: ${info.model}, ${info.cpus} cpus, ${info.memory} KiB`);
  for (const dom of await conn.listAllDomains(VIR_CONNECT_LIST_DOMAINS_ACTIVE)) {
    const { state, maxMem, memory, nrVirtCpu } = await dom.getInfo();
    console.log(`domain ${dom.getName()} id ${dom.getID()}: state ${state}, ${nrVirtCpu} vcpus, ${memory}/${maxMem} KiB`);
  }
  const test = await Domain.lookupByName(conn, 'test').catch(() => null);
  if (test) console.log(await test.getXMLDesc());
  await conn.close();
}

main().catch((err) => {
  console.error(`error: ${err.message}`);
  process.exit(1);
});

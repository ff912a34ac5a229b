// node_fetch.js MODE URL — Node's fetch, timed inside Node (its start-up left out), for
// bench/http_bench.
//   download  fetch URL and read the whole body; prints the seconds it took
//   parse     fetch URL and JSON.parse its text; prints the seconds it took
//   cancel    fetch URL, read one chunk of the body, then AbortController.abort(); prints
//             process.hrtime.bigint() at the abort (ns of CLOCK_MONOTONIC, the bench's clock)
const [mode, url] = process.argv.slice(2);

async function main() {
  if (mode === 'cancel') {
    const controller = new AbortController();
    const response = await fetch(url, {signal: controller.signal});
    const reader = response.body.getReader();
    await reader.read();
    const at = process.hrtime.bigint();
    controller.abort();
    console.log(at.toString());
    await reader.read().catch(() => {});
    return;
  }
  const start = process.hrtime.bigint();
  const response = await fetch(url);
  if (mode === 'download') {
    const body = await response.arrayBuffer();
    if (body.byteLength === 0) throw new Error('empty body');
  } else {
    const value = JSON.parse(await response.text());
    if (value === undefined) throw new Error('no value');
  }
  console.log(Number(process.hrtime.bigint() - start) / 1e9);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

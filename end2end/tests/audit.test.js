// The page audit itself (./audit.js) must catch what it is there for: a page with an
// unlabelled control, a scrolling region the keyboard cannot reach and a page wider than
// 320 px fails it, with the rule, the page and the element named; a clean page passes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { launchChromium } from './support.js';

const BAD = `<!DOCTYPE html><html lang="en"><head><title>Bad</title></head><body><main>
<h1>Bad</h1><input type="checkbox" id="unlabelled">
<pre style="overflow-x:auto;width:100px">${'x'.repeat(200)}</pre>
<div style="width:600px">wide</div></main></body></html>`;
const GOOD = `<!DOCTYPE html><html lang="en"><head><title>Good</title></head><body><main>
<h1>Good</h1><label for="c">Tick</label><input type="checkbox" id="c"></main></body></html>`;

describe('the accessibility audit', () => {
  let server;
  let origin;

  before(async () => {
    server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(req.url === '/bad' ? BAD : GOOD);
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${server.address().port}`;
  });

  after(() => new Promise((resolve) => server.close(resolve)));

  it('fails on a bad page, naming rule, page and element', async () => {
    const browser = await launchChromium();
    for (const javaScriptEnabled of [true, false]) {
      const context = await browser.newContext({ baseURL: origin, javaScriptEnabled });
      const page = await context.newPage();
      await page.goto('/bad');
      await context.close();
    }
    const error = await browser.close().then(() => null, (e) => e);
    assert.ok(error, 'the audit passed a page with known violations');
    for (const js of ['js', 'nojs']) {
      assert.match(error.message, new RegExp(`axe label \\(critical\\) on ${js} /bad: #unlabelled`));
      assert.match(error.message, new RegExp(`axe scrollable-region-focusable \\(serious\\) on ${js} /bad: pre`));
      assert.match(error.message, new RegExp(`reflow on ${js} /bad: \\d+ px wide at 320 px; div`));
    }
  });

  it('passes a clean page', async () => {
    const browser = await launchChromium();
    const context = await browser.newContext({ baseURL: origin });
    const page = await context.newPage();
    await page.goto('/good');
    await browser.close();
  });
});

// Accessibility and reflow audit of every portal page the suite visits (WCAG 2.1 AA).
//
// Each browser context the tests open records, as it goes, the HTML of every page its main
// frame shows (GET or POST, JavaScript on or off) and the stylesheets, scripts and images they
// load. When the browser closes, each distinct page is replayed from that record in a fresh
// page (so the audit sees exactly what the test saw, even after the server has stopped, and
// never disturbs the test while it runs) and checked twice:
// - axe-core (the maintained npm package) with the tags wcag2a, wcag2aa, wcag21a, wcag21aa;
// - a 320 CSS px wide viewport (SC 1.4.10 Reflow): the document must not scroll sideways.
// Any finding fails the run, naming the rule, the page and the element.
//
// Pages seen with JavaScript off are replayed with their scripts refused, because Chromium
// cannot evaluate the audit itself in a page whose context has JavaScript disabled; the
// portal has no <noscript> content, so what is rendered is the same.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const ASSET_TYPES = new Set(['stylesheet', 'script', 'image', 'font']);
const NARROW = { width: 320, height: 640 };
const WIDE = { width: 1280, height: 800 };

// Two snapshots of one page that differ only in tokens, ids, counts and times are audited once.
function structureKey(snapshot) {
  const shape = snapshot.body
    .replace(/name="csrf_token" value="[^"]*"/g, '')
    .replace(/[0-9a-f]{8,}|[0-9]+/gi, '0');
  const path = new URL(snapshot.url).pathname.replace(/[0-9a-z]*_[0-9a-z]{8,}/gi, '{id}');
  return `${snapshot.js}|${path}|${createHash('sha256').update(shape).digest('hex')}`;
}

class PageAudit {
  constructor() {
    this.snapshots = new Map();
    this.assets = new Map();
    this.pending = [];
    // Documents whose body could not be read (listed with PORTICO_AUDIT_LIST).
    this.lost = [];
  }

  watch(context, { baseURL, javaScriptEnabled }) {
    if (!baseURL) return;
    const origin = new URL(baseURL).origin;
    const js = javaScriptEnabled !== false;
    // A page's body can no longer be read once its page or context is closed: closing waits
    // for the reads already started, so that no page a test saw goes unaudited.
    const settle = () => Promise.allSettled(this.pending);
    const closeContext = context.close.bind(context);
    context.close = async (...args) => {
      await settle();
      return closeContext(...args);
    };
    context.on('page', (page) => {
      const closePage = page.close.bind(page);
      page.close = async (...args) => {
        await settle();
        return closePage(...args);
      };
      // Chromium forgets a document's body when the page navigates away: a navigation waits
      // for the reads already started (else a tour of big pages loses some at random).
      const goto = page.goto.bind(page);
      page.goto = async (...args) => {
        await settle();
        return goto(...args);
      };
    });
    context.on('response', (response) => {
      const request = response.request();
      if (!response.url().startsWith(origin)) return;
      const type = request.resourceType();
      if (type === 'document' && request.frame() === request.frame().page()?.mainFrame()) {
        const contentType = response.headers()['content-type'] || '';
        if (!contentType.startsWith('text/html') || response.status() >= 300 && response.status() < 400) return;
        this.pending.push(
          response.text().then((body) => {
            const snapshot = { url: response.url(), js, body, status: response.status() };
            const key = structureKey(snapshot);
            if (!this.snapshots.has(key)) this.snapshots.set(key, snapshot);
          }, (error) => {
            this.lost.push(`${js ? 'js' : 'nojs'} ${new URL(response.url()).pathname}: ${error.message.split('\n')[0]}`);
          }),
        );
      } else if (ASSET_TYPES.has(type) && !this.assets.has(response.url())) {
        this.pending.push(
          response.body().then((body) => {
            this.assets.set(response.url(), {
              type,
              contentType: response.headers()['content-type'] || 'application/octet-stream',
              body,
            });
          }, () => {}),
        );
      }
    });
  }

  // Audits every recorded page; returns one line per finding.
  async run(browser) {
    await Promise.allSettled(this.pending);
    const snapshots = [...this.snapshots.values()];
    this.snapshots.clear();
    const context = await browser.newContext({ viewport: WIDE });
    const findings = [];
    try {
      for (const snapshot of snapshots) {
        findings.push(...(await this.auditOne(context, snapshot)));
      }
    } finally {
      await context.close();
    }
    // One line per distinct finding: several snapshots of one page often share it.
    const list = snapshots.map((s) => `${s.js ? 'js' : 'nojs'} ${new URL(s.url).pathname}`);
    return { findings: [...new Set(findings)], pages: snapshots.length, list, lost: this.lost };
  }

  async auditOne(context, snapshot) {
    const page = await context.newPage();
    const where = `${snapshot.js ? 'js' : 'nojs'} ${new URL(snapshot.url).pathname}${new URL(snapshot.url).search}`;
    const findings = [];
    try {
      await page.route('**/*', (route) => {
        const request = route.request();
        if (request.isNavigationRequest() && request.url() === snapshot.url) {
          return route.fulfill({ status: snapshot.status, contentType: 'text/html; charset=utf-8', body: snapshot.body });
        }
        const asset = this.assets.get(request.url());
        if (asset && (snapshot.js || asset.type !== 'script')) {
          return route.fulfill({ status: 200, contentType: asset.contentType, body: asset.body });
        }
        return route.abort();
      });
      await page.goto(snapshot.url, { waitUntil: 'load' });
      await page.evaluate(axeSource);
      const violations = await page.evaluate(
        (tags) => window.axe
          .run(document, { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] })
          .then((r) => r.violations.map((v) => ({
            id: v.id,
            impact: v.impact,
            help: v.help,
            targets: v.nodes.map((n) => n.target.join(' ')),
          }))),
        WCAG_TAGS,
      );
      for (const v of violations) {
        for (const target of v.targets) {
          findings.push(`axe ${v.id} (${v.impact}) on ${where}: ${target} (${v.help})`);
        }
      }
      await page.setViewportSize(NARROW);
      const overflow = await page.evaluate(() => {
        const width = window.innerWidth;
        const scrollWidth = document.documentElement.scrollWidth;
        if (scrollWidth <= width) return null;
        // The innermost elements that stick out past the right edge, to say what to fix.
        const culprits = [...document.body.querySelectorAll('*')]
          .filter((el) => el.getBoundingClientRect().right > width + 0.5)
          .filter((el) => ![...el.children].some((c) => c.getBoundingClientRect().right > width + 0.5))
          .slice(0, 3)
          .map((el) => {
            const id = el.id ? `#${el.id}` : '';
            const cls = el.classList.length ? `.${[...el.classList].join('.')}` : '';
            return `${el.tagName.toLowerCase()}${id}${cls} (right edge ${Math.round(el.getBoundingClientRect().right)})`;
          });
        return { scrollWidth, width, culprits };
      });
      if (overflow) {
        findings.push(
          `reflow on ${where}: ${overflow.scrollWidth} px wide at ${overflow.width} px; ${overflow.culprits.join(', ')}`,
        );
      }
    } catch (e) {
      findings.push(`audit of ${where} failed: ${e.message}`);
    } finally {
      await page.close();
    }
    return findings;
  }
}

// Wraps a launched browser so that each context it opens is recorded and `close()` audits
// first; a finding makes `close()` throw (after closing the browser), failing the test file.
export function auditedBrowser(browser) {
  const audit = new PageAudit();
  const newContext = browser.newContext.bind(browser);
  const close = browser.close.bind(browser);
  browser.newContext = async (options = {}) => {
    const context = await newContext(options);
    audit.watch(context, options);
    return context;
  };
  browser.close = async () => {
    let result;
    try {
      result = await audit.run({ newContext });
    } finally {
      await close();
    }
    if (process.env.PORTICO_AUDIT_LIST) {
      console.log(result.list.map((p) => `audited: ${p}`).join('\n'));
      console.log(result.lost.map((p) => `not readable: ${p}`).join('\n'));
    }
    console.log(`audit: ${result.pages} distinct pages checked with axe-core (${WCAG_TAGS.join(', ')}) and at 320 px`);
    if (result.findings.length > 0) {
      throw new Error(`${result.findings.length} accessibility findings:\n${result.findings.join('\n')}`);
    }
  };
  return browser;
}

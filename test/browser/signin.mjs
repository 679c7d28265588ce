// The sign-in flow in a real browser: Debian's Chromium, headless, driven by
// playwright-core, against the demo of `make run` (tools/demo.sh) started on a
// free loopback port with the built module. Every page met on the way is saved
// to build/screenshots/NN-name.png. Links and codes are read where a newcomer
// reads them: the lines the demo prints when a mail lands in its maildir.
//
//   node test/browser/signin.mjs        (ML_MODULE: the module to load)
//
// Prints one line per step and, last, "N passed, 0 failed"; exits 1 on a failure.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
// Every WCAG 2.x level A and AA rule axe-core has.
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };
// Contexts bypass the pages' CSP only so that axe-core can be injected.
const CTX = { bypassCSP: true, locale: 'en-US' };
const SHOTS = path.join(REPO, 'build', 'screenshots');
const STEP_MS = 15000;          // the most any one step may take
const START_MS = 20000;         // httpd up and listening
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync'];

let passed = 0, failed = 0, shot = 0;

function check(cond, what) {
  if (!cond) throw new Error(what);
}

async function step(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.message.split('\n')[0]}`);
    throw e;
  }
}

// axe-core on the page as it is: any WCAG 2.x A/AA violation fails. The one
// exception is the waiting page's own reload (axe's meta-refresh rule, WCAG
// 2.2.1): it is what number matching without JavaScript needs, bounded, and
// the page offers the way to turn it off ("Stop reloading"), which axe cannot
// see; every other rule still runs on that page.
async function axeCheck(page, what) {
  await page.addScriptTag({ path: AXE });
  const refresh = await page.locator('meta[http-equiv="refresh"]').count();
  const stop = await page.locator('a[href*="?stop"]').count();
  check(!refresh || stop, `${what}: reloads by itself with no way to stop it`);
  const res = await page.evaluate(async ({ tags, refresh }) => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: tags },
      rules: refresh ? { 'meta-refresh': { enabled: false } } : {} });
    return { passes: r.passes.length,
      violations: r.violations.map((v) => `${v.id} (${v.nodes.length}): ${v.help} @ ${v.nodes[0].target.join(' ')}`) };
  }, { tags: AXE_TAGS, refresh });
  check(res.passes > 5, `${what}: axe checked only ${res.passes} rules`);   // it did run
  check(res.violations.length === 0, `${what}: axe: ${res.violations.join('; ')}`);
}

// No text on the page is set below 16 px.
async function checkTextSize(page, what) {
  const small = await page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll('body *')) {
      const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
      if (own && parseFloat(getComputedStyle(el).fontSize) < 16)
        out.push(`<${el.tagName.toLowerCase()}> ${getComputedStyle(el).fontSize}: ${el.textContent.trim().slice(0, 30)}`);
    }
    return out;
  });
  check(small.length === 0, `${what}: text below 16px: ${small.slice(0, 3).join('; ')}`);
}

// The waiting page reloads itself every few seconds: a check that a reload
// overtakes (on a slow machine) is run again on the reloaded page, which is
// the same page; anything else that fails, fails.
async function acrossReloads(page, fn) {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= 3 || !/context was destroyed|navigat/i.test(String(e))) throw e;
      await page.waitForLoadState('load');
    }
  }
}

async function screenshot(page, name) {
  shot++;
  const file = path.join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  check(fs.statSync(file).size > 2000, `screenshot ${file} is empty`);
  await acrossReloads(page, () => axeCheck(page, name));
  await acrossReloads(page, () => checkTextSize(page, name));
}

// A new page at the phone's and the desktop's size, each checked (axe, text
// size, nothing sticking out), then back to the size it had.
async function shots(page, name) {
  const was = page.viewportSize();
  for (const [tag, vp] of [['390', PHONE], ['desktop', DESKTOP]]) {
    await page.setViewportSize(vp);
    await checkFits(page, `${name} at ${tag}`);
    await screenshot(page, `${name}-${tag}`);
  }
  await page.setViewportSize(was);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function until(what, ms, probe) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function accepts(port) {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.on('connect', () => { c.destroy(); resolve(true); });
    c.on('error', () => resolve(false));
  });
}

// The demo: httpd in the foreground, its own process group so that one kill
// stops httpd, its children and the mail watcher.
class Demo {
  constructor(port) {
    this.port = port;
    this.base = `http://127.0.0.1:${port}`;
    this.var = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-browser-'));
    fs.chmodSync(this.var, 0o755);
  }

  // httpd opens /dev/stdout and /dev/stderr by name, which fails on a socket
  // (what Node's pipes are): the demo writes to files, read as they grow.
  get out() { return fs.readFileSync(this.outFile, 'utf8'); }
  get err() { return fs.readFileSync(this.errFile, 'utf8'); }

  async start() {
    this.outFile = path.join(this.var, 'demo.out');
    this.errFile = path.join(this.var, 'demo.err');
    this.proc = spawn(path.join(REPO, 'tools', 'demo.sh'), [], {
      env: { ...process.env, PORT: String(this.port), ML_VAR: this.var, ML_LOGLEVEL: 'info' },
      detached: true,
      stdio: ['ignore', fs.openSync(this.outFile, 'a'), fs.openSync(this.errFile, 'a')],
    });
    await until('the demo to listen', START_MS, async () => {
      check(this.proc.exitCode === null, `the demo exited:\n${this.err}`);
      return accepts(this.port);
    });
  }

  // The link and code the demo printed for the newest mail to `to`.
  mailFor(to) {
    return until(`a mail to ${to}`, STEP_MS, () => {
      const re = />>> mail for (\S+)\n>>> link: (\S+)\n>>> code: (\d{6})/g;
      let m, last = null;
      while ((m = re.exec(this.out)) !== null)
        if (m[1] === to) last = { link: m[2], code: m[3] };
      return last;
    });
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return;
    const gone = new Promise((r) => this.proc.on('exit', r));
    try { process.kill(-this.proc.pid, 'SIGTERM'); } catch { /* already gone */ }
    const t = setTimeout(() => { try { process.kill(-this.proc.pid, 'SIGKILL'); } catch { } }, 10000);
    await gone;
    clearTimeout(t);
  }

  // Error-log lines at error level or worse, and sanitizer reports.
  problems() {
    return this.err.split('\n').filter((l) =>
      /\[(?:[\w]+:)?(error|crit|alert|emerg)\]|AddressSanitizer|runtime error:/.test(l));
  }
}

async function expectPage(page, { status, url, text, title }, resp) {
  if (status !== undefined) check(resp && resp.status() === status,
    `expected status ${status}, got ${resp && resp.status()} at ${page.url()}`);
  if (url) check(url.test(page.url()), `expected a URL like ${url}, got ${page.url()}`);
  if (title) check(title.test(await page.title()), `expected title ${title}, got "${await page.title()}"`);
  if (text) {
    const body = await page.locator('body').innerText();
    check(text.test(body), `expected ${text} on ${page.url()}, got:\n${body.slice(0, 400)}`);
  }
}

async function requestLink(page, demo, email) {
  let resp = await page.goto(`${demo.base}/private/`);
  await expectPage(page, { status: 200, url: /\/magic\/login\?return=%2Fprivate%2F$/i, title: /Sign in/ }, resp);
  await page.fill('#email', email);
  [resp] = await Promise.all([page.waitForNavigation(), page.click('button:has-text("Email me a sign-in link")')]);
  await expectPage(page, { status: 200, url: /\/magic\/generate$/, text: /Check your email/ }, resp);
  check((await page.locator('body').innerText()).includes(email), 'the page does not name the address');
  return demo.mailFor(email);
}

// The waiting tab asks for a link (and is left waiting on the wait route,
// its reload timer just started): { mail, number, wait }.
async function waitFor(page, demo, email) {
  const mail = await requestLink(page, demo, email);
  const number = (await page.locator('.number').innerText()).trim();
  check(/^\d{2}$/.test(number), `the waiting page shows "${number}", not two digits`);
  const wait = await page.getAttribute('meta[http-equiv="refresh"]', 'content');
  check(/^\d+; url=\/magic\/wait\/\S{38}$/.test(wait), `refresh ${wait}`);
  return { mail, number, wait: `${demo.base}${wait.split('url=')[1]}` };
}

// The phone: another browser context, phone-sized, opening the mailed link.
async function phoneOpens(browser, link) {
  const ctx = await browser.newContext({ ...CTX, viewport: PHONE, isMobile: true, hasTouch: true });
  ctx.setDefaultTimeout(STEP_MS);
  const p = await ctx.newPage();
  const resp = await p.goto(link);
  await expectPage(p, { status: 200, text: /Approve sign-in on the other device\?/ }, resp);
  return { ctx, p };
}

async function run(demo, browser) {
  const ctx = await browser.newContext({ ...CTX, viewport: { width: 900, height: 700 } });
  ctx.setDefaultTimeout(STEP_MS);
  const page = await ctx.newPage();
  let mail, resp, w;

  await step('the protected page sends a stranger to the sign-in form', async () => {
    resp = await page.goto(`${demo.base}/private/`);
    await expectPage(page, { status: 200, url: /\/magic\/login\?return=%2Fprivate%2F$/i, title: /Sign in/ }, resp);
    check(await page.locator('meta[name="csrf-token"]').count() === 1, 'no csrf-token meta');
    const bind = (await ctx.cookies()).find((c) => c.name === 'magiclink_bind');
    check(bind && bind.httpOnly && bind.sameSite === 'Lax', `binding cookie: ${JSON.stringify(bind)}`);
    await screenshot(page, 'login');
  });

  await step('asking for a link shows "check your email" and mails a link', async () => {
    mail = await requestLink(page, demo, 'ada@example.com');
    check(mail.link.startsWith(`${demo.base}/magic/verify/`), `link ${mail.link} not from the configured origin`);
    await screenshot(page, 'check-email');
  });

  await step('the link opens a confirmation page that signs in nobody by itself', async () => {
    resp = await page.goto(mail.link);
    await expectPage(page, { status: 200, text: /ada@example\.com/ }, resp);
    check(!(await ctx.cookies()).some((c) => c.name === 'magiclink_session'), 'GET set a session');
    await screenshot(page, 'confirm');
  });

  await step('confirming lands on the protected page with an HttpOnly session', async () => {
    [resp] = await Promise.all([page.waitForNavigation(), page.click('button:has-text("Sign in")')]);
    await expectPage(page, { status: 200, url: /\/private\/$/, text: /Private page/ }, resp);
    const s = (await ctx.cookies()).find((c) => c.name === 'magiclink_session');
    check(s && s.httpOnly && s.sameSite === 'Lax' && s.path === '/', `session cookie: ${JSON.stringify(s)}`);
    await screenshot(page, 'private');
  });

  await step('the link works once', async () => {
    const again = await ctx.newPage();
    // Said before any click: the confirmation page of a used link has no button.
    resp = await again.goto(mail.link);
    await expectPage(again, { status: 410, text: /already been used/ }, resp);
    await screenshot(again, 'link-used');
    await again.close();
  });

  await step('the sign-in page of a signed-in browser says who, with Continue and both sign-outs', async () => {
    resp = await page.goto(`${demo.base}/magic/login?return=%2Fprivate%2F`);
    await expectPage(page, { status: 200, text: /signed in as ada@example\.com/ }, resp);
    check(await page.locator('#email').count() === 0, 'a sign-in form under the sign-out buttons');
    check(await page.locator('a.button:has-text("Continue")').getAttribute('href') === '/private/', 'Continue');
    check(await page.locator('button:text-is("Sign out")').count() === 1, 'no "Sign out"');
    check(await page.locator('button:text-is("Sign out everywhere")').count() === 1, 'no "Sign out everywhere"');
    await shots(page, 'login-signed-in');
  });

  await step('the private page (the demo\'s) says who you are and signs out through the sign-out page', async () => {
    resp = await page.goto(`${demo.base}/private/`);
    await expectPage(page, { status: 200, text: /signed in as ada@example\.com/ }, resp);
    await shots(page, 'private');
    [resp] = await Promise.all([page.waitForNavigation(), page.click('a:has-text("Sign out")')]);
    await expectPage(page, { status: 200, url: /\/magic\/logout$/, text: /Sign out of/ }, resp);
    await shots(page, 'sign-out');
    [resp] = await Promise.all([page.waitForNavigation(), page.click('button:text-is("Sign out")')]);
    await expectPage(page, { status: 200, url: /\/magic\/logout$/, text: /You are signed out/ }, resp);
    check(!(await ctx.cookies()).some((c) => c.name === 'magiclink_session' && c.value), 'session cookie kept');
    await shots(page, 'signed-out');
    resp = await page.goto(`${demo.base}/private/`);
    await expectPage(page, { status: 200, url: /\/magic\/login\?return=/ }, resp);
  });

  await step('the waiting page shows a number and reloads itself', async () => {
    w = await waitFor(page, demo, 'bob@example.com');
    check(await page.locator('a.button:has-text("Continue")').getAttribute('href') === new URL(w.wait).pathname, 'Continue');
    check(await page.locator('a:has-text("Use a different address")').count() === 1, 'no "Use a different address"');
    resp = await page.goto(w.wait);               // the reload, and its timer again
    await expectPage(page, { status: 200, text: /Check your email/ }, resp);
    await shots(page, 'check-email-number');
  });

  await step('a phone types the number: the waiting tab signs in without a click', async () => {
    const { ctx: phone, p } = await phoneOpens(browser, w.mail.link);
    check(/Chrom\w* on Linux/.test(await p.locator('main').innerText()), 'the asking device is not described');
    check(await p.locator('select').count() === 0, 'the number is picked, not typed');
    await shots(p, 'approve');
    await p.fill('#number', w.number);
    [resp] = await Promise.all([p.waitForNavigation(), p.click('button:has-text("Approve")')]);
    await expectPage(p, { status: 200, text: /Sign-in approved/ }, resp);
    check(!(await phone.cookies()).some((c) => c.name === 'magiclink_session'), 'the phone got a session');
    await shots(p, 'approved');
    await phone.close();
    await page.waitForURL(/\/private\/$/, { timeout: STEP_MS });
    await expectPage(page, { text: /signed in as bob@example\.com/ });
    check((await ctx.cookies()).some((c) => c.name === 'magiclink_session' && c.value), 'no session');
    await page.goto(`${demo.base}/magic/logout`);
    await Promise.all([page.waitForNavigation(), page.click('button:text-is("Sign out everywhere")')]);
  });

  await step('a wrong number ends the sign-in on both sides', async () => {
    w = await waitFor(page, demo, 'carol@example.com');
    const { ctx: phone, p } = await phoneOpens(browser, w.mail.link);
    await p.fill('#number', String((Number(w.number) + 1) % 100).padStart(2, '0'));
    [resp] = await Promise.all([p.waitForNavigation(), p.click('button:has-text("Approve")')]);
    await expectPage(p, { status: 403, text: /number did not match/ }, resp);
    await shots(p, 'wrong-number');
    await phone.close();
    await page.waitForURL(/\/magic\/wait\//, { timeout: STEP_MS });
    await expectPage(page, { text: /Sign-in stopped/ });
    check(await page.locator('meta[http-equiv="refresh"]').count() === 0, 'still reloading');
    await shots(page, 'stopped');
  });

  await step('"That wasn\'t me" ends the sign-in', async () => {
    w = await waitFor(page, demo, 'dave@example.com');
    const { ctx: phone, p } = await phoneOpens(browser, w.mail.link);
    [resp] = await Promise.all([p.waitForNavigation(), p.click('button:has-text("That wasn\'t me")')]);
    await expectPage(p, { status: 410, text: /Sign-in stopped/ }, resp);
    await shots(p, 'denied');
    await phone.close();
    await page.waitForURL(/\/magic\/wait\//, { timeout: STEP_MS });
    await expectPage(page, { text: /Sign-in stopped/ });
  });

  await step('the waiting page can stop reloading', async () => {
    w = await waitFor(page, demo, 'erin@example.com');
    [resp] = await Promise.all([page.waitForNavigation(), page.click('a:has-text("Stop reloading")')]);
    await expectPage(page, { status: 200, text: /Check your email/ }, resp);
    check(await page.locator('meta[http-equiv="refresh"]').count() === 0, 'still reloading');
    await shots(page, 'check-email-stopped');
    mail = w.mail;
  });

  await step('a wrong code in the waiting tab is refused', async () => {
    const wrong = mail.code === '000000' ? '111111' : '000000';
    await page.fill('#code', wrong);
    [resp] = await Promise.all([page.waitForNavigation(), page.click('button:has-text("Sign in with the code")')]);
    await expectPage(page, { status: 403, text: /code is not right/ }, resp);
    await screenshot(page, 'wrong-code');
  });

  await step('the right code signs in and returns to the protected page', async () => {
    await page.fill('#code', mail.code);
    [resp] = await Promise.all([page.waitForNavigation(), page.click('button:has-text("Sign in with the code")')]);
    await expectPage(page, { status: 200, url: /\/private\/$/, text: /Private page/ }, resp);
    await screenshot(page, 'private-by-code');
  });

  await step('an unknown route under the handler is a styled 404', async () => {
    resp = await page.goto(`${demo.base}/magic/nothing-here`);
    await expectPage(page, { status: 404, text: /Page not found/ }, resp);
    await shots(page, 'not-found');
  });

  await step('GET of generate and code lands on the sign-in page', async () => {
    for (const r of ['generate', 'code']) {
      resp = await page.goto(`${demo.base}/magic/${r}`);
      await expectPage(page, { status: 200, url: /\/magic\/login$/ }, resp);
    }
  });
  await ctx.close();
}

// ---- other languages: German (the browser's own), Japanese (picked on the
// page), Arabic (right to left), on a phone and on a desktop.

const VIEWPORTS = [{ name: '390', width: 390, height: 844, mobile: true },
  { name: 'desktop', width: 1280, height: 800, mobile: false }];
const LANGS = [
  { code: 'de', locale: 'de-DE', dir: 'ltr', checkEmail: /Prüfen Sie Ihr Postfach/ },
  { code: 'ja', locale: 'de-DE', pick: '日本語', dir: 'ltr', checkEmail: /メールをご確認ください/ },
  { code: 'ar', locale: 'ar-EG', dir: 'rtl', checkEmail: /تحقَّق من بريدك الإلكتروني/ },
];

// Nothing sticks out of the viewport or out of its own box: no sideways
// scrolling, no element past either edge, no text cut off inside a box.
async function checkFits(page, what) {
  const bad = await page.evaluate(() => {
    const out = [];
    const vw = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth > vw) out.push(`page scrolls sideways: ${document.documentElement.scrollWidth} > ${vw}`);
    for (const el of document.querySelectorAll('body *')) {
      const r = el.getBoundingClientRect();
      if (!r.width && !r.height) continue;
      if (r.left < -0.5 || r.right > vw + 0.5) out.push(`<${el.tagName.toLowerCase()}> ${Math.round(r.left)}..${Math.round(r.right)} outside 0..${vw}`);
      if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible') out.push(`<${el.tagName.toLowerCase()}> clips its content`);
      if (['BUTTON', 'LABEL', 'H1', 'P', 'A'].includes(el.tagName) && el.scrollWidth > el.clientWidth + 1 && el.clientWidth) out.push(`<${el.tagName.toLowerCase()}> text wider than its box: ${el.scrollWidth} > ${el.clientWidth}`);
    }
    return out;
  });
  check(bad.length === 0, `${what}: ${bad.slice(0, 3).join('; ')}`);
}

// Where the heading's text starts, against the card it sits in: at the
// left edge for ltr, at the right edge for rtl (the layout mirrors).
async function checkDirection(page, dir, what) {
  const got = await page.evaluate(() => {
    const h1 = document.querySelector('h1'), main = document.querySelector('main');
    const range = document.createRange();
    range.selectNodeContents(h1);
    const t = range.getBoundingClientRect(), m = main.getBoundingClientRect();
    const pad = parseFloat(getComputedStyle(main).paddingInlineStart);
    return { dir: getComputedStyle(document.documentElement).direction, lang: document.documentElement.lang,
      fromLeft: t.left - (m.left + pad), fromRight: (m.right - pad) - t.right, width: m.width };
  });
  check(got.dir === dir, `${what}: direction ${got.dir}, expected ${dir}`);
  const near = dir === 'rtl' ? got.fromRight : got.fromLeft;
  check(Math.abs(near) < 2, `${what}: the heading does not start at the ${dir === 'rtl' ? 'right' : 'left'} (${JSON.stringify(got)})`);
}

async function runLanguages(demo, browser) {
  for (const lang of LANGS) {
    for (const vp of VIEWPORTS) {
      const what = `${lang.code} at ${vp.name}`;
      await step(`sign-in and "check your email" in ${what}`, async () => {
        const ctx = await browser.newContext({ ...CTX, viewport: { width: vp.width, height: vp.height },
          isMobile: vp.mobile, hasTouch: vp.mobile, locale: lang.locale });
        ctx.setDefaultTimeout(STEP_MS);
        const page = await ctx.newPage();
        let resp = await page.goto(`${demo.base}/private/`);
        check(resp.status() === 200, `status ${resp.status()}`);
        if (lang.pick) {
          [resp] = await Promise.all([page.waitForNavigation(), page.click(`nav.languages a:has-text("${lang.pick}")`)]);
          check(/[?&]lang=/.test(page.url()), `the picker led to ${page.url()}`);
          check((await ctx.cookies()).some((c) => c.name === 'magiclink_lang' && c.value === lang.code), 'no language cookie');
        }
        check(resp.headers()['content-language'] === lang.code, `Content-Language ${resp.headers()['content-language']}`);
        check(await page.getAttribute('html', 'lang') === lang.code, 'html lang');
        check(await page.getAttribute('html', 'dir') === lang.dir, 'html dir');
        check(await page.locator(`nav.languages a[aria-current="true"][hreflang="${lang.code}"]`).count() === 1, 'picker does not mark the language');
        await checkFits(page, `login ${what}`);
        await checkDirection(page, lang.dir, `login ${what}`);
        await screenshot(page, `login-${lang.code}-${vp.name}`);
        const email = `${lang.code}.${vp.name}@example.com`;
        await page.fill('#email', email);
        [resp] = await Promise.all([page.waitForNavigation(), page.click('form[action$="/generate"] button[type=submit]')]);
        await expectPage(page, { status: 200, url: /\/magic\/generate$/, text: lang.checkEmail }, resp);
        check(resp.headers()['content-language'] === lang.code, `check-email Content-Language ${resp.headers()['content-language']}`);
        check((await page.locator('body').innerText()).includes(email), 'the page does not name the address');
        await checkFits(page, `check-email ${what}`);
        await checkDirection(page, lang.dir, `check-email ${what}`);
        await screenshot(page, `check-email-${lang.code}-${vp.name}`);
        const mail = await demo.mailFor(email);
        check(mail.link.startsWith(`${demo.base}/magic/verify/`), `link ${mail.link}`);
        await ctx.close();
      });
    }
  }
}

async function main() {
  fs.mkdirSync(SHOTS, { recursive: true });
  for (const f of fs.readdirSync(SHOTS)) if (f.endsWith('.png')) fs.unlinkSync(path.join(SHOTS, f));
  const demo = new Demo(await freePort());
  let browser;
  try {
    await demo.start();
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS,
      timeout: START_MS });
    await step('make run\'s demo prints its URL last', async () => {
      const last = await until('the demo\'s URL', START_MS, () => {
        const lines = demo.out.trim().split('\n');
        return /open http:\/\/127\.0\.0\.1:\d+\/private\//.test(lines[lines.length - 1]) && lines;
      });
      check(last.length >= 2, `the URL is all it printed: ${last}`);
    });
    await run(demo, browser);
    await runLanguages(demo, browser);
  } catch (e) {
    if (!failed) { failed++; console.log(`FAIL ${e.message.split('\n')[0]}`); }
    console.log(e.stack);
  } finally {
    if (browser) await browser.close().catch(() => {});
    await demo.stop();
  }
  const problems = demo.problems();
  for (const p of problems) console.log(`FAIL error log: ${p}`);
  failed += problems.length;
  if (!failed) fs.rmSync(demo.var, { recursive: true, force: true });
  else console.log(`demo files kept in ${demo.var}`);
  console.log(`screenshots in ${path.relative(REPO, SHOTS)}/: ${fs.readdirSync(SHOTS).filter((f) => f.endsWith('.png')).length}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main();

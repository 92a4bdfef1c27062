/**
 * The dashboard's browser script (plain ES2020, no framework, no external assets). It reads the
 * event stream /v1/events (fetch-based SSE, so a bearer token can be sent), falls back to polling
 * /v1/state every second, and updates keyed DOM rows in place. Every value from the server is set
 * with textContent (member names and tags come from gossip: never trusted as HTML).
 * Kept as a string so `tsc` alone builds commy; written without backticks or template holes.
 */
export const DASHBOARD_JS = String.raw`'use strict';
(function () {
  var SVG = 'http://www.w3.org/2000/svg';
  var $ = function (id) { return document.getElementById(id); };
  var params = new URLSearchParams(location.search);
  var token = sessionStorage.getItem('commy.admin.token') || '';
  var authNeeded = false;
  var mode = '';
  var pollTimer = 0, retryTimer = 0, watchdog = 0, streamCtrl = null;
  var last = null;
  var detailId = null;

  // ---------- small helpers ----------
  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) if (attrs[k] != null) e.setAttribute(k, attrs[k]);
    if (kids) for (var i = 0; i < kids.length; i++) e.append(kids[i]);
    return e;
  }
  function svgEl(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }
  function text(node, value) { value = value == null ? '' : String(value); if (node.textContent !== value) node.textContent = value; }
  function setClass(node, cls) { if (node.className !== cls) node.className = cls; }
  function setData(node, key, value) { if (node.dataset[key] !== value) node.dataset[key] = value; }
  function fmtNum(n) {
    if (n == null || isNaN(n)) return '–';
    if (n >= 10000) return Math.round(n / 1000) + 'k';
    if (n >= 1000) return (n / 1000).toFixed(1) + 'k';
    if (n >= 100) return String(Math.round(n));
    if (n >= 10) return n.toFixed(1);
    return n === 0 ? '0' : n.toFixed(2);
  }
  function fmtMs(ms) {
    if (ms == null || isNaN(ms)) return '–';
    if (ms >= 1000) return (ms / 1000).toFixed(2) + ' s';
    if (ms >= 100) return Math.round(ms) + ' ms';
    if (ms >= 10) return ms.toFixed(1) + ' ms';
    return ms.toFixed(2) + ' ms';
  }
  function fmtDur(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60), r = s % 60;
    if (d) return d + 'd ' + h + 'h';
    if (h) return h + 'h ' + m + 'm';
    if (m) return m + 'm ' + r + 's';
    return r + 's';
  }
  function clock(t) { return new Date(t).toLocaleTimeString(); }
  function headers(extra) {
    var h = { accept: 'application/json' };
    if (token) h.authorization = 'Bearer ' + token;
    for (var k in extra || {}) h[k] = extra[k];
    return h;
  }

  // keyed reconciliation: one element per item, reused across updates, kept in order
  function sync(parent, items, keyOf, create, update) {
    var old = new Map();
    for (var c = parent.firstElementChild; c; c = c.nextElementSibling) old.set(c.dataset.key, c);
    var prev = null;
    for (var i = 0; i < items.length; i++) {
      var key = keyOf(items[i]);
      var node = old.get(key);
      if (node) old.delete(key); else { node = create(items[i]); node.dataset.key = key; }
      update(node, items[i]);
      var want = prev ? prev.nextElementSibling : parent.firstElementChild;
      if (node !== want) parent.insertBefore(node, want);
      prev = node;
    }
    old.forEach(function (n) { n.remove(); });
  }

  // ---------- sparklines ----------
  function spark(kind, w, h) {
    var s = svgEl('svg', { class: 'spark ' + kind, width: w, height: h, viewBox: '0 0 ' + w + ' ' + h, 'aria-hidden': 'true' });
    s.append(svgEl('line', { class: 'base', x1: 0, y1: h - 0.5, x2: w, y2: h - 0.5 }));
    s.append(svgEl('path', { class: 'area', d: '' }));
    s.append(svgEl('path', { class: 'line', d: '' }));
    return s;
  }
  function drawSpark(s, values, floor) {
    var w = +s.getAttribute('width'), h = +s.getAttribute('height');
    var n = values ? values.length : 0;
    var max = floor || 1;
    for (var i = 0; i < n; i++) if (values[i] != null && values[i] > max) max = values[i];
    var line = '', area = '', open = false, startX = 0, lastX = 0;
    var step = n > 1 ? w / (n - 1) : 0;
    for (var j = 0; j < n; j++) {
      var v = values[j];
      var x = n > 1 ? j * step : w;
      if (v == null) {
        if (open) { area += 'L' + lastX.toFixed(1) + ' ' + h + 'L' + startX.toFixed(1) + ' ' + h + 'Z'; open = false; }
        continue;
      }
      var y = h - 1 - (v / max) * (h - 3);
      if (!open) { line += 'M' + x.toFixed(1) + ' ' + y.toFixed(1); area += 'M' + x.toFixed(1) + ' ' + h + 'L' + x.toFixed(1) + ' ' + y.toFixed(1); startX = x; open = true; }
      else { line += 'L' + x.toFixed(1) + ' ' + y.toFixed(1); area += 'L' + x.toFixed(1) + ' ' + y.toFixed(1); }
      lastX = x;
    }
    if (open) area += 'L' + lastX.toFixed(1) + ' ' + h + 'L' + startX.toFixed(1) + ' ' + h + 'Z';
    s.children[1].setAttribute('d', area);
    s.children[2].setAttribute('d', line);
  }

  // ---------- rendering ----------
  function render(snap) {
    last = snap;
    var node = snap.node;
    text($('node-name'), node.name);
    var zone = $('node-zone');
    zone.hidden = !node.zone; text(zone, node.zone || '');
    text($('node-version'), node.version);
    text($('config-version'), node.configVersion);
    text($('node-uptime'), fmtDur(node.uptimeMs));
    var rd = $('readiness');
    if (node.draining) { setClass(rd, 'badge warn'); text(rd, 'Draining'); }
    else if (snap.readiness.ready) { setClass(rd, 'badge ok'); text(rd, 'Ready'); }
    else { setClass(rd, 'badge bad'); text(rd, 'Not ready: ' + (snap.readiness.reason || 'unknown')); }
    setData(rd, 'ready', String(!!snap.readiness.ready));
    document.title = node.name + ' · commy';

    var byService = new Map();
    snap.services.forEach(function (s) { byService.set(s.name, []); });
    snap.endpoints.forEach(function (ep) {
      if (!byService.has(ep.service)) byService.set(ep.service, []);
      byService.get(ep.service).push(ep);
    });
    var services = snap.services.slice().sort(function (a, b) { return a.name < b.name ? -1 : 1; });
    sync($('services'), services, function (s) { return s.name; }, createService, function (card, s) {
      updateService(card, s, byService.get(s.name) || [], snap);
    });
    $('no-services').hidden = services.length > 0;
    text($('services-note'), snap.omittedEndpoints ? '(' + snap.omittedEndpoints + ' endpoints not shown)' : '');

    var members = snap.members.slice().sort(function (a, b) { return (b.self - a.self) || (a.name < b.name ? -1 : 1); });
    sync($('members'), members, function (m) { return m.name; }, createMember, updateMember);

    var alerts = snap.alerts.slice().sort(function (a, b) {
      return (a.state === 'firing' ? 0 : 1) - (b.state === 'firing' ? 0 : 1) || b.startedAt - a.startedAt;
    });
    sync($('alerts'), alerts, function (a) { return [a.name, a.service, a.endpoint, a.startedAt].join('|'); }, createAlert, function (li, a) {
      updateAlert(li, a, snap.t);
    });
    $('no-alerts').hidden = alerts.length > 0;

    var alive = 0, healthy = 0, open = 0, inflight = 0, rps = 0, firing = 0;
    snap.members.forEach(function (m) { if (m.state === 'alive') alive++; });
    snap.endpoints.forEach(function (ep) {
      if (ep.state === 'healthy') healthy++;
      if (ep.breaker === 'open') open++;
      inflight += ep.inFlight;
      rps += ep.rps || 0;
    });
    snap.alerts.forEach(function (a) { if (a.state === 'firing') firing++; });
    text($('sum-members'), alive + ' / ' + snap.members.length);
    setClass($('sum-members'), 'value num' + (alive < snap.members.length ? ' warn' : ''));
    text($('sum-services'), snap.services.length);
    text($('sum-endpoints'), healthy + ' / ' + snap.endpoints.length);
    setClass($('sum-endpoints'), 'value num' + (healthy < snap.endpoints.length ? ' warn' : ''));
    text($('sum-breakers'), open);
    setClass($('sum-breakers'), 'value num' + (open ? ' bad' : ''));
    text($('sum-inflight'), inflight);
    text($('sum-rps'), fmtNum(rps));
    text($('sum-alerts'), firing);
    setClass($('sum-alerts'), 'value num' + (firing ? ' bad' : ''));
    text($('updated'), clock(snap.t));
  }

  var COLUMNS = [['State'], ['Endpoint'], ['Weight', 'r'], ['In flight', 'r'], ['EWMA', 'r'], ['Req/s', 'r'], ['p99', 'r'], ['Breaker'], ['Reason']];
  function createService(s) {
    var head = el('div', { class: 'service-head' }, [
      el('h3', { class: 'name' }), el('span', { class: 'chip strategy' }),
      el('div', { class: 'health-bar', title: 'healthy / unhealthy / ejected / draining' }),
      el('span', { class: 'stat healthy-count' }), el('span', { class: 'stat rps' }),
      el('span', { class: 'badge panic', hidden: '' }, ['panic routing'])
    ]);
    var tr = el('tr');
    COLUMNS.forEach(function (c) { tr.append(el('th', { class: c[1] || null }, [c[0]])); });
    var table = el('table', { class: 'grid endpoints' }, [el('thead', null, [tr]), el('tbody')]);
    return el('section', { class: 'card service', 'data-testid': 'service-card', 'data-service': s.name }, [head, el('div', { class: 'table-wrap' }, [table])]);
  }
  function updateService(card, s, eps, snap) {
    text(card.querySelector('.name'), s.name);
    text(card.querySelector('.strategy'), s.strategy);
    var counts = { healthy: 0, unhealthy: 0, ejected: 0, draining: 0 }, rps = 0;
    eps.forEach(function (ep) { counts[ep.state] = (counts[ep.state] || 0) + 1; rps += ep.rps || 0; });
    var bar = card.querySelector('.health-bar');
    if (bar.childElementCount === 0) ['healthy', 'unhealthy', 'ejected', 'draining'].forEach(function (k) { bar.append(el('span', { class: k })); });
    var total = eps.length || 1;
    ['healthy', 'unhealthy', 'ejected', 'draining'].forEach(function (k, i) { bar.children[i].style.width = (counts[k] / total * 100) + '%'; });
    var hc = card.querySelector('.healthy-count');
    hc.replaceChildren(el('b', null, [counts.healthy + ' / ' + eps.length]), ' healthy');
    var r = card.querySelector('.rps');
    r.replaceChildren(el('b', null, [fmtNum(s.rps != null ? s.rps : rps)]), ' req/s');
    card.querySelector('.panic').hidden = !s.panic;
    setData(card, 'panic', String(!!s.panic));
    sync(card.querySelector('tbody'), eps, function (ep) { return ep.id; }, createEndpoint, function (row, ep) {
      updateEndpoint(row, ep, snap.series[ep.id]);
    });
  }

  function createEndpoint(ep) {
    var rpsCell = el('span', { class: 'spark-cell' }, [spark('rps', 60, 18), el('span', { class: 'v' })]);
    var p99Cell = el('span', { class: 'spark-cell' }, [spark('p99', 60, 18), el('span', { class: 'v' })]);
    var row = el('tr', { class: 'endpoint', 'data-testid': 'endpoint-row', tabindex: '0' }, [
      el('td', null, [el('span', { class: 'state' })]),
      el('td', null, [el('code', { class: 'addr' }), el('span', { class: 'sub' })]),
      el('td', { class: 'r weight' }),
      el('td', { class: 'r inflight' }),
      el('td', { class: 'r ewma' }),
      el('td', { class: 'r' }, [rpsCell]),
      el('td', { class: 'r' }, [p99Cell]),
      el('td', null, [el('span', { class: 'breaker' })]),
      el('td', { class: 'reason' })
    ]);
    row.addEventListener('click', function () { openDetail(row.dataset.endpointId); });
    row.addEventListener('keydown', function (e) { if (e.key === 'Enter') openDetail(row.dataset.endpointId); });
    return row;
  }
  function updateEndpoint(row, ep, series) {
    setData(row, 'endpointId', ep.id);
    setData(row, 'state', ep.state);
    setData(row, 'breaker', ep.breaker);
    var c = row.children;
    var st = c[0].firstChild; setClass(st, 'state ' + ep.state); text(st, ep.state);
    text(c[1].firstChild, ep.address);
    var sub = [ep.zone || 'no zone', ep.node ? 'node ' + ep.node : ep.source].concat(ep.tags || []).join(' · ');
    text(c[1].lastChild, sub);
    text(c[2], ep.effectiveWeight !== ep.weight ? fmtNum(ep.effectiveWeight) + ' / ' + ep.weight : ep.weight);
    text(c[3], ep.inFlight);
    text(c[4], fmtMs(ep.ewmaLatencyMs));
    drawSpark(c[5].firstChild.firstChild, series ? series.rps : [], 1);
    text(c[5].firstChild.lastChild, fmtNum(ep.rps));
    drawSpark(c[6].firstChild.firstChild, series ? series.p99 : [], 1);
    text(c[6].firstChild.lastChild, fmtMs(ep.p99Ms));
    var br = c[7].firstChild; setClass(br, 'breaker ' + ep.breaker); text(br, ep.breaker);
    text(c[8], ep.state === 'healthy' && ep.reason === 'ok' ? '' : ep.reason);
    c[8].title = ep.reason;
  }

  function createMember() {
    return el('tr', { 'data-testid': 'member-row' }, [
      el('td', null, [el('span', { class: 'mname' }), el('span', { class: 'self', hidden: '' }, ['this node']), el('span', { class: 'sub mono' })]),
      el('td', null, [el('span', { class: 'state' })]),
      el('td', { class: 'zone' }),
      el('td', { class: 'r inc' })
    ]);
  }
  function updateMember(row, m) {
    setData(row, 'member', m.name);
    setData(row, 'state', m.state);
    var c = row.children;
    text(c[0].children[0], m.name);
    c[0].children[1].hidden = !m.self;
    text(c[0].children[2], m.address + (m.services.length ? ' · ' + m.services.join(', ') : ''));
    var st = c[1].firstChild; setClass(st, 'state ' + m.state); text(st, m.state);
    text(c[2], m.zone || '–');
    text(c[3], m.incarnation);
  }

  function createAlert() {
    return el('li', { 'data-testid': 'alert-row' }, [
      el('span', { class: 'sev' }), el('span', { class: 'what' }), el('span', { class: 'when num' }), el('span', { class: 'detail-line num' })
    ]);
  }
  function updateAlert(li, a, now) {
    setData(li, 'state', a.state);
    setClass(li, a.state);
    var c = li.children;
    setClass(c[0], 'sev ' + a.severity); text(c[0], a.state === 'firing' ? a.severity : 'resolved');
    var where = a.endpoint && a.service && a.endpoint.indexOf(a.service + '~') === 0 ? a.endpoint.slice(a.service.length + 1) : a.endpoint;
    text(c[1], a.name + (a.service ? ' · ' + a.service : '') + (where ? ' · ' + where : ''));
    text(c[2], a.state === 'firing' ? 'for ' + fmtDur(now - a.startedAt) : fmtDur(now - (a.resolvedAt || now)) + ' ago');
    var v = a.rule === 'error-rate' ? (a.value * 100).toFixed(1) + '% > ' + (a.threshold * 100).toFixed(1) + '%'
      : a.rule === 'p99-latency' ? fmtMs(a.value) + ' > ' + fmtMs(a.threshold) : String(a.value);
    text(c[3], a.rule + ': ' + v);
  }

  // ---------- endpoint detail ----------
  function chart(host, kind, values) {
    host.replaceChildren();
    var s = spark(kind, 280, 80);
    host.append(s);
    drawSpark(s, values, 1);
  }
  function openDetail(id) {
    if (!id) return;
    detailId = id;
    var dlg = $('detail');
    text($('detail-title'), id.split('~').slice(1).join('~') || id);
    text($('detail-sub'), 'service ' + id.split('~')[0] + ' · last hour');
    $('detail-transitions').replaceChildren();
    if (!dlg.open) dlg.showModal();
    fetch('/v1/endpoints/' + encodeURIComponent(id) + '/history?since=1h', { headers: headers(), cache: 'no-store' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (h) {
        if (detailId !== id) return;
        var per = 1000 / h.bucketMs;
        var done = h.buckets.filter(function (b) { return b.start + h.bucketMs <= Date.now(); });
        chart($('chart-rps'), 'rps', done.map(function (b) { return b.requests * per; }));
        chart($('chart-errors'), 'err', done.map(function (b) { return b.errors; }));
        chart($('chart-p99'), 'p99', done.map(function (b) { return b.p99; }));
        var rows = h.transitions.slice().reverse().map(function (t) {
          return el('tr', null, [el('td', { class: 'num' }, [clock(t.at)]), el('td', null, [t.from]), el('td', null, [t.to]), el('td', { class: 'reason' }, [t.reason])]);
        });
        $('detail-transitions').replaceChildren.apply($('detail-transitions'), rows);
        $('detail-empty').hidden = rows.length > 0;
      })
      .catch(function (err) { toast('History unavailable: ' + err.message, true); });
  }

  // ---------- live data ----------
  function setMode(m) {
    if (mode === m) return;
    mode = m;
    var live = $('live');
    live.dataset.mode = m;
    text(live.lastChild, { sse: 'live', polling: 'polling', offline: 'offline', connecting: 'connecting' }[m]);
  }
  // blocking: reads are refused too (exposed bind), so live data waits for the token
  function askToken(blocking) {
    if (blocking) { authNeeded = true; stopPolling(); }
    $('auth').hidden = false;
    $('auth-token').focus();
  }
  function kick() {
    clearTimeout(watchdog);
    watchdog = setTimeout(function () { if (streamCtrl) streamCtrl.abort(); }, 5000);
  }
  async function stream() {
    var ctrl = new AbortController();
    streamCtrl = ctrl;
    var res = await fetch('/v1/events', { headers: headers({ accept: 'text/event-stream' }), signal: ctrl.signal, cache: 'no-store' });
    if (res.status === 401) { askToken(true); throw new Error('unauthorized'); }
    if (!res.ok || !res.body) throw new Error('HTTP ' + res.status);
    var reader = res.body.getReader();
    var decoder = new TextDecoder();
    var buf = '';
    kick();
    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) throw new Error('stream ended');
      buf += decoder.decode(chunk.value, { stream: true });
      var at;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        var frame = buf.slice(0, at);
        buf = buf.slice(at + 2);
        var data = frame.split('\n').filter(function (l) { return l.indexOf('data:') === 0; })
          .map(function (l) { return l.slice(5).replace(/^ /, ''); }).join('\n');
        if (!data) continue;
        kick();
        stopPolling();
        setMode('sse');
        render(JSON.parse(data));
      }
    }
  }
  function connect() {
    if (authNeeded) return;
    if (params.get('poll') === '1') return startPolling();
    stream().catch(function () {
      clearTimeout(watchdog);
      if (authNeeded) return;
      if (mode === 'sse') setMode('polling');
      startPolling();
      clearTimeout(retryTimer);
      retryTimer = setTimeout(connect, 5000);
    });
  }
  function startPolling() {
    if (pollTimer) return;
    poll();
    pollTimer = setInterval(poll, 1000);
  }
  function stopPolling() { clearInterval(pollTimer); pollTimer = 0; }
  async function poll() {
    try {
      var res = await fetch('/v1/state', { headers: headers(), cache: 'no-store' });
      if (res.status === 401) return askToken(true);
      if (!res.ok) throw new Error('HTTP ' + res.status);
      var snap = await res.json();
      if (mode !== 'sse') setMode('polling');
      render(snap);
    } catch (e) {
      if (mode !== 'sse') setMode('offline');
    }
  }

  // ---------- actions ----------
  var toastTimer = 0;
  function toast(msg, bad) {
    var t = $('toast');
    text(t, msg);
    setClass(t, 'toast ' + (bad ? 'bad' : 'ok'));
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { t.hidden = true; }, bad ? 9000 : 4000);
  }
  async function post(path) {
    var res = await fetch(path, { method: 'POST', headers: headers() });
    var body = await res.json().catch(function () { return {}; });
    if (res.status === 401) askToken(false);
    return { ok: res.ok, status: res.status, body: body };
  }
  $('reload').addEventListener('click', async function (e) {
    var b = e.currentTarget; b.disabled = true;
    try {
      var r = await post('/v1/reload');
      if (r.ok) toast('Config reloaded · version ' + r.body.version);
      else if (r.status === 401) toast('The admin token is required: enter it, then reload again.', true);
      else toast('Reload refused (' + r.status + ')\n' + (r.body.message || ''), true);
    } catch (err) { toast('Reload failed: ' + err.message, true); }
    b.disabled = false;
  });
  $('drain').addEventListener('click', async function () {
    if (!confirm('Drain this sidecar? It stops taking traffic, finishes in-flight requests and leaves the cluster.')) return;
    try {
      var r = await post('/v1/drain');
      toast(r.ok ? 'Draining…' : 'Drain refused (' + r.status + '): ' + (r.body.message || ''), !r.ok);
    } catch (err) { toast('Drain failed: ' + err.message, true); }
  });
  var THEMES = ['auto', 'dark', 'light'];
  function applyTheme(t) {
    if (t === 'auto') document.documentElement.removeAttribute('data-theme');
    else document.documentElement.setAttribute('data-theme', t);
    $('theme').title = 'Theme: ' + t;
  }
  var theme = params.get('theme') || localStorage.getItem('commy.theme') || 'auto';
  applyTheme(theme);
  $('theme').addEventListener('click', function () {
    theme = THEMES[(THEMES.indexOf(theme) + 1) % THEMES.length];
    localStorage.setItem('commy.theme', theme);
    applyTheme(theme);
  });
  $('auth-form').addEventListener('submit', function (e) {
    e.preventDefault();
    token = $('auth-token').value.trim();
    sessionStorage.setItem('commy.admin.token', token);
    var blocked = authNeeded;
    authNeeded = false;
    $('auth').hidden = true;
    if (blocked) connect();
  });
  $('detail').addEventListener('close', function () { detailId = null; });

  setMode('connecting');
  connect();
})();
`

/** The dashboard page: a static shell the client script fills (no data is rendered server-side). */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="dark light">
<title>commy · admin</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/dashboard.css">
<script src="/assets/dashboard.js" defer></script>
</head>
<body>
<header class="top">
  <div class="brand"><img src="/favicon.svg" alt="" width="22" height="22"><span>commy</span></div>
  <div class="node">
    <strong id="node-name" data-testid="node-name">…</strong>
    <span class="chip" id="node-zone" data-testid="node-zone" hidden></span>
    <span class="muted">v<span id="node-version">…</span></span>
    <span class="muted">config <code id="config-version" data-testid="config-version">…</code></span>
    <span class="muted" id="node-tls" data-testid="node-tls" hidden><code id="node-identity" data-testid="node-identity"></code> cert expires in <span id="node-cert-left" class="num" data-testid="node-cert-left"></span></span>
    <span class="muted">up <span id="node-uptime" class="num">…</span></span>
  </div>
  <div class="spacer"></div>
  <span id="readiness" class="badge" data-testid="readiness">…</span>
  <span id="live" class="live" data-testid="live-status" data-mode="connecting"><i></i><span>connecting</span></span>
  <button id="reload" class="btn" type="button" title="Validate and apply the config file again">Reload config</button>
  <button id="drain" class="btn danger" type="button" title="Stop taking traffic and leave the cluster" data-testid="node-drain">Drain</button>
  <button id="theme" class="btn icon" type="button" title="Theme: auto / dark / light" aria-label="Switch theme">◐</button>
</header>

<div id="auth" class="auth" hidden>
  <form id="auth-form" class="card">
    <h2>Admin token required</h2>
    <p class="muted">This admin server asks for its bearer token. It is kept for this tab only.</p>
    <input id="auth-token" type="password" autocomplete="off" placeholder="admin.token" required>
    <button class="btn primary" type="submit">Open dashboard</button>
  </form>
</div>

<main id="app">
  <section class="tiles" aria-label="Summary">
    <div class="tile lead" title="Share of requests answered without a 5xx or a commy error, over the last minute, all services"><span class="label">Success rate</span><span class="value num" id="sum-success" data-testid="sum-success">—</span></div>
    <div class="tile"><span class="label">Requests / s</span><span class="value num" id="sum-rps" data-testid="sum-rps">—</span></div>
    <div class="tile"><span class="label">Members alive</span><span class="value num" id="sum-members">—</span></div>
    <div class="tile"><span class="label">Endpoints healthy</span><span class="value num" id="sum-endpoints">—</span></div>
    <div class="tile"><span class="label">Breakers open</span><span class="value num" id="sum-breakers">—</span></div>
    <div class="tile"><span class="label">In flight</span><span class="value num" id="sum-inflight">—</span></div>
    <div class="tile"><span class="label">Alerts firing</span><span class="value num" id="sum-alerts">—</span></div>
    <div class="tile"><span class="label">Services</span><span class="value num" id="sum-services">—</span></div>
  </section>

  <section class="card golden" aria-label="Golden signals per service">
    <h2 class="card-title">Services <span class="muted note">success rate, requests / s and latency over the last minute</span></h2>
    <div class="table-wrap">
      <table class="grid golden">
        <thead><tr><th>Service</th><th class="r" title="Client requests answered without a 5xx or a commy error (after retries)">Success</th><th class="r" title="Tries to its endpoints that succeeded (before retries)">Tries ok</th><th class="r">Req/s</th><th class="r">p50</th><th class="r">p99</th><th>Endpoints healthy</th><th>Strategy</th><th title="How commy talks to the endpoints; for gRPC, the commonest final grpc-status">Protocol</th></tr></thead>
        <tbody id="golden" data-testid="golden-table"></tbody>
      </table>
    </div>
  </section>

  <section class="card routes" aria-label="Routes">
    <h2 class="card-title">Routes <span class="muted note" id="routes-note"></span></h2>
    <div class="table-wrap">
      <table class="grid routes">
        <thead><tr><th>Listener</th><th>Route</th><th>Match</th><th>Service</th><th class="r">Success</th><th class="r">Req/s</th><th class="r">p50</th><th class="r">p99</th><th class="r">Requests</th></tr></thead>
        <tbody id="routes" data-testid="routes-table"></tbody>
      </table>
    </div>
    <p id="no-routes" class="empty" hidden>No routes.</p>
  </section>

  <div class="columns">
    <section class="services" aria-label="Services">
      <h2 class="section-title">Endpoints <span class="muted" id="services-note"></span></h2>
      <div id="services"></div>
      <p id="no-services" class="empty" hidden>No services configured.</p>
    </section>

    <aside class="side">
      <section class="card">
        <h2 class="card-title">Members</h2>
        <table class="grid members">
          <thead><tr><th>Name</th><th>State</th><th>Zone</th></tr></thead>
          <tbody id="members"></tbody>
        </table>
      </section>
      <section class="card">
        <h2 class="card-title">Events <span class="muted note">since this page opened</span></h2>
        <ol id="events" class="events" data-testid="events"></ol>
        <p id="no-events" class="empty">No events yet.</p>
      </section>
      <section class="card">
        <h2 class="card-title">Recent alerts</h2>
        <ul id="alerts" class="alerts"></ul>
        <p id="no-alerts" class="empty">No alerts.</p>
      </section>
    </aside>
  </div>
</main>

<dialog id="detail" class="detail">
  <form method="dialog" class="detail-head">
    <div><h2 id="detail-title">Endpoint</h2><span class="muted" id="detail-sub"></span></div>
    <button class="btn icon" value="close" aria-label="Close">✕</button>
  </form>
  <div class="detail-state">
    <span id="detail-state" class="state"></span>
    <span id="detail-stats" class="muted num"></span>
    <span class="spacer"></span>
    <button id="ep-drain" class="btn" type="button" data-testid="endpoint-drain" title="Maintenance: no new requests to this endpoint, in-flight ones finish; a local service's endpoint is gossiped to every sidecar">Drain endpoint</button>
    <button id="ep-undrain" class="btn" type="button" data-testid="endpoint-undrain" hidden title="End maintenance: the endpoint takes requests again">Undrain endpoint</button>
  </div>
  <div class="detail-charts">
    <figure><figcaption>Requests / s</figcaption><div id="chart-rps" data-testid="chart-rps"></div></figure>
    <figure><figcaption>Success rate (%)</figcaption><div id="chart-success" data-testid="chart-success"></div></figure>
    <figure><figcaption>p99 latency</figcaption><div id="chart-p99" data-testid="chart-p99"></div></figure>
  </div>
  <h3>Transitions</h3>
  <table class="grid"><thead><tr><th>When</th><th>From</th><th>To</th><th>Reason</th></tr></thead><tbody id="detail-transitions"></tbody></table>
  <p id="detail-empty" class="empty" hidden>No transitions retained.</p>
</dialog>

<div id="toast" class="toast" role="status" aria-live="polite" hidden></div>
<footer class="foot muted">Updated <span id="updated" class="num">never</span> · served by the sidecar itself, no external assets</footer>
</body>
</html>
`

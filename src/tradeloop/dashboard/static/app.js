// The live dashboard page: one WebSocket (snapshot, then batches of deltas), the chart
// component from chart.js, tables, and confirmed controls posted to /api/control.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const fmt = window.tlFmt;
  const S = { candles: {}, fills: [], orders: new Map(), marks: [], lines: new Map(),
    series: new Map(), equity: {}, warnings: [], controls: [], status: {}, periods: [] };
  const T = { lat: [], fillSeen: {}, orderSeen: {}, batches: 0, snapshots: 0 };
  window.__tl = { S: S, T: T };
  const chart = new window.TLChart($("chart"), { period: 60 });
  const equity = new window.TLLine($("equity"));
  window.__tl.chart = chart;
  let sym = null, period = 60, dirty = false;
  const who = $("who");
  who.value = localStorage.getItem("tl-who") || "operator";
  who.onchange = () => localStorage.setItem("tl-who", who.value);

  function esc(x) {
    return String(x == null ? "" : x).replace(/[&<>"']/g,
      (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }
  function num(x, cls) {
    const c = cls && x ? (x > 0 ? " pos" : " neg") : "";
    return '<td class="num' + c + '">' + esc(fmt(x)) + "</td>";
  }
  function btn(label, action, scope, target, symbol) {
    return '<button class="ctl" data-action="' + action + '" data-scope="' + esc(scope) +
      '" data-target="' + esc(target) + '" data-symbol="' + esc(symbol || "") + '">' +
      label + "</button>";
  }

  // -- chart ---------------------------------------------------------------------------------
  function onSymbol() { return (x) => x.s === sym; }
  function redrawChart() {
    if (!sym) return;
    const rows = (S.candles[sym] || {})[String(period)] || [];
    chart.clearLines();
    chart.clearSeries();
    chart.setCandles(rows, period);
    chart.setFills(S.fills.filter(onSymbol()));
    chart.setMarks(S.marks.filter(onSymbol()));
    for (const o of S.orders.values()) if (o.s === sym && o.price) chart.orderLine(o);
    for (const l of S.lines.values()) if (l.s === sym || l.symbol === sym) annotationLine(l);
    for (const s of S.series.values()) if (s.s === sym) chart.seriesPoints(s.id, s.name, s.color, s.points, false);
    chart.fit();
  }
  function annotationLine(l) {
    chart.setLine("line:" + l.id, l.price, l.strategy + " " + l.name, l.color || "#f5a623", true);
  }
  function fillSelectors() {
    const ss = $("symbol"), ps = $("period");
    const insts = S.instruments || [];
    if (ss.options.length !== insts.length) {
      ss.innerHTML = insts.map((s) => "<option>" + esc(s) + "</option>").join("");
      if (!sym || insts.indexOf(sym) < 0) sym = insts[0] || null;
      ss.value = sym;
    }
    if (ps.options.length !== S.periods.length) {
      ps.innerHTML = S.periods.map((p) => '<option value="' + p + '">' + label(p) + "</option>").join("");
      if (S.periods.indexOf(period) < 0) period = S.periods.indexOf(60) >= 0 ? 60 : S.periods[0];
      ps.value = String(period);
    }
  }
  function label(p) { return p % 3600 === 0 ? p / 3600 + "h" : p % 60 === 0 ? p / 60 + "m" : p + "s"; }
  $("symbol").onchange = (e) => { sym = e.target.value; redrawChart(); };
  $("period").onchange = (e) => { period = Number(e.target.value); redrawChart(); };

  // -- applying pushes -------------------------------------------------------------------------
  function snapshot(d) {
    T.snapshots++;
    S.instruments = d.instruments; S.periods = d.periods; S.candles = d.candles;
    S.fills = d.fills; S.marks = d.marks; S.status = d.status; S.warnings = d.warnings;
    S.controls = d.controls; S.equity = d.equity;
    S.orders = new Map(d.orders.map((o) => [o.id, o]));
    S.lines = new Map(d.lines.map((l) => [l.id, Object.assign(l, { s: l.symbol })]));
    S.series = new Map(d.series.map((s) => [s.id, s]));
    fillSelectors();
    redrawChart();
    for (const g of Object.keys(S.equity)) equity.set(g, S.equity[g]);
    for (const f of S.fills) T.fillSeen[f.id] = T.fillSeen[f.id] || Date.now();
    dirty = true;
  }

  const handlers = {
    candle(it) {
      const per = S.candles[it.s] || (S.candles[it.s] = {});
      const rows = per[String(it.p)] || (per[String(it.p)] = []);
      const last = rows[rows.length - 1];
      if (last && last[0] === it.c[0]) rows[rows.length - 1] = it.c;
      else if (!last || it.c[0] > last[0]) { rows.push(it.c); if (rows.length > 600) rows.shift(); }
      if (S.periods.indexOf(it.p) < 0) { S.periods.push(it.p); S.periods.sort((a, b) => a - b); fillSelectors(); }
      if (it.s === sym && it.p === period) { chart.updateCandle(it.c); $("last").textContent = fmt(it.c[4]); return true; }
      return false;
    },
    fill(it) {
      const f = it.f;
      if (S.fills.some((x) => x.id === f.id)) return false;
      S.fills.push(f); if (S.fills.length > 300) S.fills.shift();
      if (f.s === sym) chart.addFill(f);
      T.fillSeen[f.id] = Date.now();
      dirty = true; return true;
    },
    order(it) {
      const o = it.o;
      if (o.open) {
        S.orders.set(o.id, o);
        if (o.s === sym && o.price) chart.orderLine(o);
        T.orderSeen[o.id] = T.orderSeen[o.id] || Date.now();
      } else {
        S.orders.delete(o.id);
        chart.removeLine("order:" + o.id);
      }
      dirty = true; return true;
    },
    mark(it) { S.marks.push(it.m); if (it.m.symbol === sym) chart.addMark(it.m); return true; },
    line(it) {
      const l = Object.assign(it.l, { s: it.l.symbol });
      if (l.price == null) { S.lines.delete(l.id); chart.removeLine("line:" + l.id); }
      else { S.lines.set(l.id, l); if (l.s === sym) annotationLine(l); }
      return true;
    },
    point(it) {
      let s = S.series.get(it.id);
      if (!s) { s = { id: it.id, s: it.s, name: it.name, color: it.color, points: [] }; S.series.set(it.id, s); }
      const last = s.points[s.points.length - 1];
      if (last && last[0] === it.pt[0]) last[1] = it.pt[1]; else s.points.push(it.pt);
      if (it.s === sym) chart.seriesPoints(it.id, it.name, it.color, [it.pt], true);
      return true;
    },
    equity(it) {
      const pts = S.equity[it.g] || (S.equity[it.g] = []);
      pts.push(it.pt);
      equity.add(it.g, it.pt);
      return false;
    },
    status(it) { S.status = it.st; dirty = true; return false; },
    warning(it) { S.warnings.push(it.w); if (S.warnings.length > 100) S.warnings.shift(); dirty = true; return false; },
    control(it) { S.controls.push(it.x); dirty = true; return false; },
  };

  function batch(items) {
    T.batches++;
    const stamped = [];
    for (const it of items) {
      const h = handlers[it.k];
      const w = it.w || (it.o && it.o.w) || (it.f && it.f.w);
      if (h && h(it) && w) stamped.push([it.k, w]);
    }
    if (stamped.length) {
      requestAnimationFrame(() => {
        const now = Date.now();
        for (const [k, w] of stamped) { T.lat.push([k, now - w]); }
        if (T.lat.length > 20000) T.lat.splice(0, 10000);
      });
    }
  }

  // -- tables ------------------------------------------------------------------------------------
  function renderTables() {
    const st = S.status || {};
    $("deployment").textContent = st.deployment || "";
    $("uptime").textContent = st.uptime_s ? "up " + Math.round(st.uptime_s) + "s" : "";
    const groups = st.groups || [];
    $("risk").innerHTML = "<tr><th>account</th><th>state</th><th>why</th><th class=num>equity</th><th></th></tr>" +
      groups.map((g) => "<tr data-group=\"" + esc(g.group) + "\"><td>" + esc(g.group) + (g.shadow ? " (shadow)" : "") +
        '</td><td class="risk-state ' + esc(g.risk.state.toUpperCase()) + '">' + esc(g.risk.state.toUpperCase()) +
        "</td><td>" + esc(g.risk.reason) + (Object.keys(g.risk.halted_venues || {}).length ? " venues halted: " +
        esc(Object.keys(g.risk.halted_venues).join(", ")) : "") + "</td>" + num(g.equity) + "<td>" +
        btn("halt", "halt", "account", g.group) + btn("reduce-only", "reduce", "account", g.group) +
        btn("resume", "resume", "account", g.group) + "</td></tr>").join("");
    const srows = [];
    for (const g of groups) for (const [sid, p] of Object.entries(g.strategies)) {
      const gate = (g.gates || {})[sid] || "active";
      srows.push("<tr data-strategy=\"" + esc(sid) + "\"><td>" + esc(sid) + "</td><td>" + (g.shadow ? "shadow" : "live") +
        "</td><td>" + esc(gate) + "</td>" + num(p.realized, 1) + num(p.unrealized, 1) + num(p.fees) +
        "<td>" + esc(Object.entries(p.positions).map(([s, q]) => s + " " + fmt(q)).join(", ")) + "</td><td>" +
        btn("halt", "halt", "strategy", sid) + btn("reduce-only", "reduce", "strategy", sid) +
        btn("resume", "resume", "strategy", sid) + btn("flatten", "flatten", "strategy", sid) + "</td></tr>");
    }
    $("strategies").innerHTML = "<tr><th>strategy</th><th>mode</th><th>gate</th><th class=num>realized</th>" +
      "<th class=num>unrealized</th><th class=num>fees</th><th>positions</th><th></th></tr>" + srows.join("");
    const prow = [];
    for (const g of groups) for (const p of g.position_rows || []) {
      prow.push("<tr data-position=\"" + esc(g.group + "|" + p.s) + "\"><td>" + esc(g.group) + "</td><td>" + esc(p.s) +
        '</td><td class="num qty">' + esc(fmt(p.qty)) + "</td>" + num(p.entry) + num(p.mark) + "<td>" +
        btn("flatten", "flatten", "account", g.group, p.s) + "</td></tr>");
    }
    $("positions").innerHTML = "<tr><th>account</th><th>instrument</th><th class=num>qty</th><th class=num>entry</th>" +
      "<th class=num>mark</th><th></th></tr>" + prow.join("");
    const acc = st.accounts || {};
    $("venues").innerHTML = "<tr><th>account</th><th>connection</th><th>balances</th></tr>" +
      Object.entries(acc).map(([a, v]) => "<tr><td>" + esc(a) + '</td><td class="' +
        (/connected/.test(v.connection) ? "ok" : "bad") + '">' + esc(v.connection) + "</td><td>" +
        esc(Object.entries(v.balances).map(([c, x]) => c + " " + fmt(x)).join(", ")) + "</td></tr>").join("") +
      (st.reconcile || []).map((l) => '<tr><td colspan=3>' + esc(l) + "</td></tr>").join("");
    $("orders").innerHTML = "<tr><th>id</th><th>instrument</th><th>side</th><th class=num>qty</th><th class=num>price</th>" +
      "<th>status</th><th>strategy</th><th></th></tr>" + Array.from(S.orders.values()).map((o) =>
        "<tr data-order=\"" + esc(o.id) + "\"><td>" + esc(o.id) + "</td><td>" + esc(o.s) + '</td><td class="' +
        (o.side === "buy" ? "pos" : "neg") + '">' + esc(o.side) + "</td>" + num(o.qty) + num(o.price) + "<td>" +
        esc(o.status) + "</td><td>" + esc(o.strategy) + "</td><td>" + btn("cancel", "cancel", "order", o.id) +
        "</td></tr>").join("");
    $("fills").innerHTML = "<tr><th>time</th><th>instrument</th><th>side</th><th class=num>qty</th><th class=num>price</th>" +
      "<th>strategy</th></tr>" + S.fills.slice(-30).reverse().map((f) => "<tr data-fill=\"" + esc(f.id) + "\"><td>" +
        new Date(f.t * 1000).toISOString().slice(11, 19) + "</td><td>" + esc(f.s) + '</td><td class="' +
        (f.side === "buy" ? "pos" : "neg") + '">' + esc(f.side) + "</td>" + num(f.qty) + num(f.price) + "<td>" +
        esc(f.strategy) + "</td></tr>").join("");
    $("warnings").innerHTML = S.warnings.slice(-30).reverse().map((w) => "<li>" +
      new Date(w.t * 1000).toISOString().slice(11, 19) + " " + esc(w.text) + "</li>").join("");
    $("controls").innerHTML = S.controls.slice(-30).reverse().map((x) => "<li>" +
      new Date(x.t * 1000).toISOString().slice(11, 19) + " " + esc(x.who) + " (" + esc(x.from) + "): " +
      esc(x.done) + "</li>").join("");
  }
  function frame() { if (dirty) { dirty = false; renderTables(); } requestAnimationFrame(frame); }
  requestAnimationFrame(frame);
  setInterval(() => { if (dirty) { dirty = false; renderTables(); } }, 250); // hidden tabs too

  // -- controls ------------------------------------------------------------------------------------
  let pending = null;
  document.addEventListener("click", (e) => {
    const b = e.target.closest("button.ctl");
    if (!b) return;
    pending = { action: b.dataset.action, scope: b.dataset.scope, target: b.dataset.target,
      symbol: b.dataset.symbol };
    const what = pending.scope === "order" ? "order " + pending.target
      : pending.scope + " " + pending.target + (pending.symbol ? " " + pending.symbol : "");
    $("confirm-text").textContent = "Really " + pending.action + " " + what + "?" +
      (pending.action === "resume" && pending.scope === "account" ? " (also resumes halted venues)" : "");
    $("confirm-result").textContent = "";
    $("confirm").hidden = false;
  });
  $("confirm-cancel").onclick = () => { pending = null; $("confirm").hidden = true; };
  $("confirm-ok").onclick = async () => {
    if (!pending) return;
    const body = Object.assign({ confirm: true, who: who.value || "operator" }, pending);
    pending = null;
    const key = document.querySelector('meta[name="tl-form"]').content;
    try {
      const r = await fetch("/api/control", { method: "POST", body: JSON.stringify(body),
        headers: { "Content-Type": "application/json", "X-Tradeloop-Form": key } });
      const j = await r.json();
      $("confirm-result").textContent = j.ok ? j.done : "refused: " + j.error;
      if (j.ok) setTimeout(() => { $("confirm").hidden = true; }, 300);
    } catch (err) { $("confirm-result").textContent = "failed: " + err; }
  };

  // -- connection --------------------------------------------------------------------------------------
  function connect() {
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
    ws.binaryType = "arraybuffer";
    const dec = new TextDecoder();
    ws.onopen = () => { $("conn").textContent = "live"; $("conn").className = "ok"; };
    ws.onmessage = (ev) => {
      const msg = JSON.parse(typeof ev.data === "string" ? ev.data : dec.decode(ev.data));
      if (msg.type === "snapshot") snapshot(msg.data); else batch(msg.items);
    };
    ws.onclose = () => {
      $("conn").textContent = "disconnected, retrying"; $("conn").className = "bad";
      setTimeout(connect, 1000);
    };
  }
  connect();
})();

// tradeloop chart component: candles, fills as markers, working orders and strategy lines as
// price lines, strategy marks and indicator series. Shared by the live dashboard and the
// backtest report, so a strategy looks the same in both. Built on TradingView Lightweight
// Charts (window.LightweightCharts, served from an installed package).
"use strict";

(function () {
  const LWC = window.LightweightCharts;
  const BUY = "#26a69a", SELL = "#ef5350";
  const PALETTE = ["#f5a623", "#4a90e2", "#bd10e0", "#7ed321", "#50e3c2", "#d0021b"];

  class TLChart {
    constructor(el, opts) {
      this.el = el;
      this.ok = !!LWC;
      this.lines = new Map();      // id -> {line, price}
      this.series = new Map();     // id -> line series
      this.fills = [];
      this.marks = [];
      this.period = (opts && opts.period) || 60;
      this.rendered = 0;
      if (!this.ok) {
        el.textContent = "chart library not installed (pip install 'tradeloop[dashboard]')";
        return;
      }
      this.chart = LWC.createChart(el, {
        autoSize: true,
        layout: { background: { color: "#131722" }, textColor: "#d1d4dc" },
        grid: { vertLines: { color: "#1e222d" }, horzLines: { color: "#1e222d" } },
        timeScale: { timeVisible: true, secondsVisible: true },
        crosshair: { mode: 0 },
      });
      this.candles = this.chart.addCandlestickSeries({
        upColor: BUY, downColor: SELL, borderVisible: false, wickUpColor: BUY,
        wickDownColor: SELL,
      });
    }

    bucket(t) { return Math.floor(t / this.period) * this.period; }

    setCandles(rows, period) {
      if (period) this.period = period;
      if (!this.ok) return;
      this.candles.setData(rows.map(candle));
      this.last = rows.length ? rows[rows.length - 1][0] : 0;
      this.count = rows.length;
      this.drawMarkers();
    }

    updateCandle(c) {
      if (!this.ok || c[0] < (this.last || 0)) return;
      if (c[0] !== this.last) this.count = (this.count || 0) + 1;
      this.last = c[0];
      this.candles.update(candle(c));
    }

    setFills(fills) { this.fills = fills.slice(); this.drawMarkers(); }
    addFill(f) { this.fills.push(f); if (this.fills.length > 500) this.fills.shift(); this.drawMarkers(); }
    setMarks(marks) { this.marks = marks.slice(); this.drawMarkers(); }
    addMark(m) { this.marks.push(m); if (this.marks.length > 500) this.marks.shift(); this.drawMarkers(); }

    drawMarkers() {
      if (!this.ok) return;
      const out = [];
      for (const f of this.fills) {
        const buy = f.side === "buy";
        out.push({ time: this.bucket(f.t), position: buy ? "belowBar" : "aboveBar",
          color: buy ? BUY : SELL, shape: buy ? "arrowUp" : "arrowDown",
          text: (buy ? "B " : "S ") + fmt(f.qty) + " @ " + fmt(f.price), id: "fill:" + f.id });
      }
      for (const m of this.marks) {
        out.push({ time: this.bucket(m.t), position: m.price == null ? "aboveBar" : "inBar",
          color: m.color || "#f5a623", shape: m.shape || "circle", text: m.text,
          id: "mark:" + m.id });
      }
      out.sort((a, b) => a.time - b.time);
      this.candles.setMarkers(out);
      this.markerCount = out.length;
      this.rendered = Date.now();
    }

    // A horizontal line that moves with its price and vanishes with remove(id).
    setLine(id, price, title, color, dashed) {
      if (!this.ok) return;
      const have = this.lines.get(id);
      if (have) {
        if (have.price !== price || have.title !== title) {
          have.line.applyOptions({ price: price, title: title });
          have.price = price; have.title = title;
        }
        return;
      }
      const line = this.candles.createPriceLine({ price: price, color: color, lineWidth: 1,
        lineStyle: dashed ? 2 : 0, axisLabelVisible: true, title: title });
      this.lines.set(id, { line: line, price: price, title: title });
    }

    removeLine(id) {
      const have = this.lines.get(id);
      if (!have) return;
      this.candles.removePriceLine(have.line);
      this.lines.delete(id);
    }

    clearLines() { for (const id of Array.from(this.lines.keys())) this.removeLine(id); }

    orderLine(o) {
      const title = (o.side === "buy" ? "BUY " : "SELL ") + fmt(o.qty - (o.filled || 0));
      this.setLine("order:" + o.id, o.price, title, o.side === "buy" ? BUY : SELL, false);
    }

    seriesPoints(id, name, color, points, append) {
      if (!this.ok) return;
      let s = this.series.get(id);
      if (!s) {
        s = this.chart.addLineSeries({ color: color || PALETTE[this.series.size % PALETTE.length],
          lineWidth: 1, title: name, priceLineVisible: false, lastValueVisible: false });
        this.series.set(id, s);
      }
      const pts = points.map((p) => ({ time: p[0], value: p[1] }));
      if (append) { for (const p of pts) { try { s.update(p); } catch (e) { /* older point */ } } }
      else s.setData(pts);
    }

    clearSeries() { for (const s of this.series.values()) this.chart.removeSeries(s); this.series.clear(); }
    fit() { if (this.ok) this.chart.timeScale().fitContent(); }
  }

  function candle(c) { return { time: c[0], open: c[1], high: c[2], low: c[3], close: c[4] }; }
  function fmt(x) {
    if (x == null || isNaN(x)) return "";
    const a = Math.abs(x);
    return a >= 1000 ? x.toFixed(1) : a >= 1 ? x.toFixed(3) : x.toPrecision(4);
  }

  // A small equity (or any value) line chart.
  class TLLine {
    constructor(el) {
      this.ok = !!LWC;
      this.series = new Map();
      if (!this.ok) return;
      this.chart = LWC.createChart(el, {
        autoSize: true,
        layout: { background: { color: "#131722" }, textColor: "#d1d4dc" },
        grid: { vertLines: { visible: false }, horzLines: { color: "#1e222d" } },
        timeScale: { timeVisible: true, secondsVisible: true },
      });
    }
    set(id, points) {
      if (!this.ok) return;
      let s = this.series.get(id);
      if (!s) {
        s = this.chart.addLineSeries({ color: PALETTE[this.series.size % PALETTE.length],
          lineWidth: 2, title: id });
        this.series.set(id, s);
      }
      s.setData(points.map((p) => ({ time: p[0], value: p[1] })));
    }
    add(id, pt) {
      if (!this.ok) return;
      if (!this.series.has(id)) return this.set(id, [pt]);
      try { this.series.get(id).update({ time: pt[0], value: pt[1] }); } catch (e) { /* old */ }
    }
  }

  window.TLChart = TLChart;
  window.TLLine = TLLine;
  window.tlFmt = fmt;
})();

// Interactive charts of the dashboard, drawn with the vendored dygraphs:
// one run's time series (#charts[data-run]) and runs overlaid
// (#overlay[data-runs]). Fault windows and the warm-up are shaded bands;
// zoom is shared between the charts of a page. Without scripts the static
// PNG plots stay in place.
(function () {
  'use strict';
  var PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#999999', '#000000'];
  var FAULT = 'rgba(213,94,0,0.18)', WARMUP = 'rgba(0,0,0,0.08)';

  window.stripelab = window.stripelab || {charts: {}};

  // fmtT shows seconds of run time as 45s, 1m30s, 1h2m.
  function fmtT(s) {
    s = Math.round(s * 10) / 10;
    if (s < 60) return s + 's';
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = Math.round(s % 60);
    return (h ? h + 'h' : '') + (m || h ? m + 'm' : '') + (r ? r + 's' : '');
  }

  // clean keeps a label plain text: dygraphs writes labels as HTML.
  function clean(s) { return String(s).replace(/[<>&"']/g, '_'); }

  // fmtAxis writes axis numbers short: 950, 1.2k, 3M.
  function fmtAxis(v) {
    var a = Math.abs(v);
    if (a >= 1e6) return +(v / 1e6).toFixed(2) + 'M';
    if (a >= 1e4) return +(v / 1e3).toFixed(1) + 'k';
    return String(+Number(v).toFixed(3));
  }

  function fmtValue(unit) {
    return function (v) {
      if (v === null || isNaN(v)) return '–';
      var d = Math.abs(v) >= 100 ? 1 : Math.abs(v) >= 10 ? 2 : 3;
      return Number(v).toFixed(unit === '%' ? 3 : d).replace(/\.?0+$/, '') + unit;
    };
  }

  // underlay shades the bands (fault windows, warm-up) under the lines
  // and names each fault at the top of its band.
  function underlay(bands, el) {
    return function (ctx, area, g) {
      var drawn = 0;
      bands.forEach(function (b) {
        var l = Math.max(g.toDomXCoord(b.start_s), area.x);
        var r = Math.min(g.toDomXCoord(b.end_s), area.x + area.w);
        if (r <= l) return;
        ctx.fillStyle = b.kind === 'fault' ? FAULT : WARMUP;
        ctx.fillRect(l, area.y, r - l, area.h);
        if (b.kind === 'fault') {
          drawn++;
          ctx.fillStyle = '#8a3b00';
          ctx.font = '11px system-ui, sans-serif';
          ctx.fillText(b.name, l + 4, area.y + 12, Math.max(r - l - 8, 40));
        }
      });
      el.dataset.bands = String(drawn);
    };
  }

  function draw(el, legend, labels, rows, bands, unit, extra) {
    el.textContent = '';
    var opts = {
      labels: labels.map(clean), labelsDiv: legend, legend: 'always', colors: PALETTE,
      strokeWidth: 1.5, connectSeparatedPoints: false, drawGapEdgePoints: true,
      underlayCallback: underlay(bands, el),
      axes: {
        x: {valueFormatter: fmtT, axisLabelFormatter: fmtT, pixelsPerLabel: 70},
        y: {valueFormatter: fmtValue(unit), axisLabelFormatter: fmtAxis, axisLabelWidth: 56}
      }
    };
    for (var k in extra || {}) opts[k] = extra[k];
    var g = new Dygraph(el, rows, opts);
    el.dataset.ready = '1';
    return g;
  }

  // rowsOf builds dygraphs rows [t, v1, v2, ...] from named series.
  function rowsOf(t, series) {
    return t.map(function (x, i) {
      return [x].concat(series.map(function (s) { return s.values[i]; }));
    });
  }

  var KINDS = {
    latency: {field: 'latency_ms', unit: 'ms'},
    availability: {field: 'availability_pct', unit: '%'},
    throughput: {field: 'throughput_per_s', unit: '/s'},
    failures: {field: 'failures_per_s', unit: '/s', extra: {stackedGraph: true, fillGraph: true, fillAlpha: 0.5}}
  };

  function getSeries(id) {
    return fetch('/api/series?run=' + encodeURIComponent(id)).then(function (r) {
      if (!r.ok) throw new Error('series of ' + id + ': HTTP ' + r.status);
      return r.json();
    });
  }

  function syncAll(gs) {
    if (gs.length > 1 && Dygraph.synchronize) Dygraph.synchronize(gs, {zoom: true, selection: true, range: false});
  }

  function runCharts(box) {
    getSeries(box.dataset.run).then(function (s) {
      window.stripelab.series = s;
      var gs = [];
      box.querySelectorAll('.chart').forEach(function (el) {
        var k = KINDS[el.dataset.kind];
        if (!k) return;
        var named = s[k.field];
        var legend = document.getElementById('legend-' + el.dataset.kind);
        var g = draw(el, legend, ['time'].concat(named.map(function (n) { return n.name; })),
          rowsOf(s.t, named), s.bands, k.unit, k.extra);
        window.stripelab.charts[el.dataset.kind] = g;
        gs.push(g);
      });
      syncAll(gs);
      box.dataset.ready = '1';
    }).catch(function (e) { box.dataset.error = String(e); });
  }

  // overlay merges one measure of several runs on the union of their
  // window starts; a run without a window there has a gap.
  function overlay(all, pick) {
    var ts = {};
    all.forEach(function (s) { s.t.forEach(function (x) { ts[x] = true; }); });
    var t = Object.keys(ts).map(Number).sort(function (a, b) { return a - b; });
    var index = all.map(function (s) {
      var m = {};
      s.t.forEach(function (x, i) { m[x] = i; });
      return m;
    });
    return t.map(function (x) {
      return [x].concat(all.map(function (s, j) {
        var i = index[j][x];
        return i === undefined ? null : pick(s)[i];
      }));
    });
  }

  var OVERLAYS = {
    latency: {unit: 'ms', pick: function (s) { return s.latency_ms[2].values; }},
    availability: {unit: '%', pick: function (s) { return s.availability_pct[0].values; }},
    throughput: {unit: '/s', pick: function (s) { return s.throughput_per_s[1].values; }}
  };

  function compareCharts(box) {
    var ids = JSON.parse(box.dataset.runs || '[]');
    if (ids.length < 2) return;
    Promise.all(ids.map(getSeries)).then(function (all) {
      window.stripelab.compared = all;
      var labels = ['time'].concat(all.map(function (s, i) { return (i ? '#' + i + ' ' : 'base ') + s.id; }));
      var gs = [];
      box.querySelectorAll('.chart').forEach(function (el) {
        var o = OVERLAYS[el.dataset.kind];
        var legend = document.getElementById('cmp-legend-' + el.dataset.kind);
        var g = draw(el, legend, labels, overlay(all, o.pick), all[0].bands, o.unit, {labelsSeparateLines: true});
        window.stripelab.charts[el.dataset.kind] = g;
        gs.push(g);
      });
      syncAll(gs);
      box.dataset.ready = '1';
    }).catch(function (e) { box.dataset.error = String(e); });
  }

  function start() {
    if (typeof Dygraph === 'undefined') return;
    var run = document.getElementById('charts');
    if (run && run.dataset.run !== undefined) runCharts(run);
    var cmp = document.getElementById('overlay');
    if (cmp) compareCharts(cmp);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();

// The playground: the scenario editor validated on every change by the
// server's validator (errors marked at their line and column), and runs
// in the simulator with progress streamed as server-sent events.
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var text = $('text'), gutter = $('gutter'), marks = $('marks'), check = $('check'), list = $('errors');
  var form = $('runform'), runBtn = $('run'), cancelBtn = $('cancel'), bar = $('progress'), state = $('runstate'), log = $('log');
  var errors = [], seq = 0, timer = null, job = null, progressEvents = 0;

  function lines() { return text.value.split('\n'); }

  // paint redraws the line numbers and the layer under the text that
  // marks each error's line and column.
  function paint() {
    var ls = lines(), bad = {}, at = {};
    errors.forEach(function (e) { bad[e.line] = true; if (!(e.line in at)) at[e.line] = e.col; });
    gutter.textContent = '';
    marks.textContent = '';
    ls.forEach(function (l, i) {
      var n = i + 1;
      var g = document.createElement('div');
      g.textContent = n;
      g.dataset.line = n;
      if (bad[n]) g.className = 'err';
      gutter.appendChild(g);
      var m = document.createElement('div');
      if (bad[n]) {
        m.className = 'errline';
        m.dataset.line = n;
        var c = Math.max(1, Math.min(at[n], l.length + 1)) - 1;
        m.appendChild(document.createTextNode(l.slice(0, c)));
        var s = document.createElement('span');
        s.className = 'at';
        s.textContent = l.slice(c, c + 1) || ' ';
        m.appendChild(s);
        m.appendChild(document.createTextNode(l.slice(c + 1) || ''));
      } else {
        m.textContent = l || ' ';
      }
      marks.appendChild(m);
    });
    syncScroll();
  }

  function syncScroll() {
    marks.scrollTop = text.scrollTop;
    marks.scrollLeft = text.scrollLeft;
    gutter.scrollTop = text.scrollTop;
  }

  // offset is the position in the text of a line and column (1-based).
  function offset(line, col) {
    var ls = lines(), o = 0;
    for (var i = 0; i < line - 1 && i < ls.length; i++) o += ls[i].length + 1;
    return o + Math.max(0, col - 1);
  }

  // jump puts the caret on an error and scrolls its line into view.
  function jump(line, col) {
    text.focus();
    var o = offset(line, col);
    text.setSelectionRange(o, o + 1);
    var lh = parseFloat(getComputedStyle(text).lineHeight) || 20;
    text.scrollTop = Math.max(0, (line - 1) * lh - text.clientHeight / 3);
    syncScroll();
  }

  function show(v) {
    errors = v.errors || [];
    list.textContent = '';
    errors.forEach(function (e) {
      var li = document.createElement('li');
      li.dataset.line = e.line;
      li.dataset.col = e.col;
      var code = document.createElement('code');
      code.textContent = e.line + ':' + e.col;
      li.appendChild(code);
      li.appendChild(document.createTextNode(' ' + (e.path ? e.path + ': ' : '') + e.msg));
      li.addEventListener('click', function () { jump(e.line, e.col); });
      list.appendChild(li);
    });
    if (v.ok && !v.limit) {
      check.className = 'check ok';
      check.dataset.state = 'ok';
      check.textContent = 'valid: ' + v.name + ': ' + v.summary;
    } else if (v.ok) {
      check.className = 'check bad';
      check.dataset.state = 'limit';
      check.textContent = v.limit;
    } else {
      check.className = 'check bad';
      check.dataset.state = 'bad';
      check.textContent = errors.length + (errors.length === 1 ? ' error' : ' errors');
    }
    runBtn.disabled = !(v.ok && !v.limit) || job !== null;
    paint();
  }

  function validate() {
    var mine = ++seq;
    check.dataset.state = 'checking';
    fetch('/api/validate', {method: 'POST', headers: {'Content-Type': 'text/plain'}, body: text.value})
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (v) { if (mine === seq) show(v); })
      .catch(function (e) { if (mine === seq) { check.dataset.state = 'error'; check.textContent = 'could not check: ' + e.message; } });
  }

  function changed() {
    paint();
    clearTimeout(timer);
    timer = setTimeout(validate, 150);
  }

  function note(s) {
    var li = document.createElement('li');
    li.textContent = s;
    log.appendChild(li);
    log.scrollTop = log.scrollHeight;
  }

  function finished() {
    job = null;
    cancelBtn.disabled = true;
    runBtn.disabled = check.dataset.state !== 'ok';
  }

  function follow(started) {
    var es = new EventSource(started.events);
    es.addEventListener('progress', function (ev) {
      var p = JSON.parse(ev.data);
      progressEvents++;
      document.body.dataset.progressEvents = progressEvents;
      bar.value = p.fraction;
      state.textContent = Math.round(100 * p.fraction) + '%';
    });
    es.addEventListener('done', function (ev) {
      var d = JSON.parse(ev.data);
      es.close();
      finished();
      bar.value = 1;
      state.textContent = d.status + (d.note ? ' (' + d.note + ')' : '');
      note('done: ' + d.status + ', written to ' + d.run + '; opening it');
      window.location.assign(d.url);
    });
    es.addEventListener('failed', function (ev) {
      es.close();
      finished();
      state.textContent = 'failed: ' + JSON.parse(ev.data).error;
      note(state.textContent);
    });
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (job) return;
    runBtn.disabled = true;
    progressEvents = 0;
    bar.value = 0;
    state.textContent = 'starting…';
    var body = JSON.stringify({text: text.value, seed: $('seed').value, backend: $('backend').value});
    fetch('/api/jobs', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: body})
      .then(function (r) { return r.json().then(function (b) { return {status: r.status, body: b}; }); })
      .then(function (r) {
        if (r.status !== 202) {
          if (r.body.errors) show(r.body);
          state.textContent = r.body.error || r.body.limit || 'the scenario has errors';
          runBtn.disabled = false;
          return;
        }
        job = r.body;
        cancelBtn.disabled = false;
        note('started run ' + job.id);
        follow(job);
      })
      .catch(function (e) { state.textContent = 'could not start: ' + e.message; runBtn.disabled = false; });
  });

  cancelBtn.addEventListener('click', function () {
    if (!job) return;
    fetch(job.cancel, {method: 'POST'}).then(function () { note('cancel requested'); });
  });

  var from = $('from');
  from.addEventListener('change', function () {
    fetch('/api/library?name=' + encodeURIComponent(from.value))
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.text(); })
      .then(function (t) {
        text.value = t;
        history.replaceState(null, '', '/playground?from=' + encodeURIComponent(from.value));
        changed();
      });
  });

  text.addEventListener('input', changed);
  text.addEventListener('scroll', syncScroll);
  paint();
  validate();
})();

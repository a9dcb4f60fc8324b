/* Aftercart order tracking block. Plain JS, deferred. No cookies or storage; one same-origin request
   (the app proxy). Server data goes in as textContent only. */
(function () {
'use strict';

// An element with a class and text, appended to parent if given.
function h(tag, cls, text, parent) {
  var el = document.createElement(tag);
  if (cls) el.className = cls;
  if (text != null && text !== '') el.textContent = String(text);
  if (parent) parent.appendChild(el);
  return el;
}

// Locale strings carry {placeholders}.
function fmt(s, vars) {
  return String(s || '').replace(/\{(\w+)\}/g, function (m, k) {
    return vars[k] != null ? vars[k] : m;
  });
}

function parseUrl(u) {
  try { return new URL(u, location.href); } catch (e) { return null; }
}

// ISO date -> "20 Nov 2026", shopper's language, shop-local date.
function formatDate(iso, locale) {
  var m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso || '');
  if (!m) return '';
  try {
    return new Date(Date.UTC(+m[1], m[2] - 1, +m[3]))
      .toLocaleDateString(locale, { dateStyle: 'medium', timeZone: 'UTC' });
  } catch (e) { return m[0]; }
}

function init(root) {
  if (root.hasAttribute('data-ac-ready')) return;
  root.setAttribute('data-ac-ready', '');
  var $ = function (s) { return root.querySelector(s); };
  var t = {};
  try { t = JSON.parse($('script[data-ac-i18n]').textContent); } catch (e) { /* no strings */ }
  var form = $('[data-ac-form]');
  var orderIn = $('[data-ac-order]');
  var contactIn = $('[data-ac-contact]');
  var result = $('[data-ac-result]');
  if (!form || !result) return;

  var locale = root.getAttribute('data-locale') || document.documentElement.lang || 'en';
  var base = root.getAttribute('data-root') || '/';
  if (base.slice(-1) !== '/') base += '/';
  var proxy = (root.getAttribute('data-proxy-path') || '').trim().replace(/^\/+|\/+$/g, '');
  if (!/^[\w-]+(\/[\w-]+)*$/.test(proxy)) proxy = 'apps/aftercart';
  var endpoint = base + proxy + '/api/track';
  var pending = null;

  function show(nodes) {
    result.textContent = '';
    nodes.forEach(function (n) { result.appendChild(n); });
  }

  function message(text, kind) {
    show([h('p', 'ac-message ac-message--' + kind, text)]);
  }

  // Grow (never shrink) the result to the viewport's bottom before loading: no shift in view.
  function reserve() {
    var r = result.getBoundingClientRect();
    var want = Math.ceil(Math.max(r.height, innerHeight - Math.max(r.top, 0)));
    if (want > r.height) result.style.minHeight = want + 'px';
  }

  function itemList(items, parent) {
    var ul = h('ul', 'ac-items', null, parent);
    (items || []).forEach(function (it) {
      var li = h('li', 'ac-item', null, ul);
      var src = it.image_url && parseUrl(it.image_url);
      // Same-origin images only (/cdn/shop/...): no third-party requests.
      if (src && src.origin === location.origin) {
        var img = h('img', 'ac-item__img', null, li);
        img.src = src.href;
        img.alt = '';
        img.width = img.height = 48;
        img.loading = 'lazy';
      }
      var body = h('div', 'ac-item__body', null, li);
      h('span', 'ac-item__title', it.title, body);
      h('span', 'ac-item__variant', it.variant_title, body);
      h('span', 'ac-item__qty', fmt(t.quantity, { count: it.quantity }), li);
    });
  }

  function progress(steps, idx, parent) {
    var wrap = h('div', 'ac-progress', null, parent);
    var n = steps.length;
    if (steps[idx]) h('p', 'ac-vh', fmt(t.step_of, { index: idx + 1, count: n, label: steps[idx].label }), wrap);
    var ol = h('ol', 'ac-steps', null, wrap);
    ol.setAttribute('aria-label', t.progress || '');
    ol.style.setProperty('--ac-steps', n);
    steps.forEach(function (s, i) {
      var li = h('li', 'ac-step', null, ol);
      h('span', 'ac-step__label', s.label, li);
      if (i > idx) return;
      li.className += i < idx ? ' is-done' : ' is-current';
      if (i === idx) li.setAttribute('aria-current', 'step');
      h('span', 'ac-vh', ' (' + (i < idx ? t.step_done : t.step_current) + ')', li);
    });
  }

  function statusLine(label, explanation, problem, parent) {
    var box = h('div', 'ac-status', null, parent);
    var p = h('p', 'ac-status__label', null, box);
    if (problem) {
      h('span', 'ac-badge', t.needs_attention, p);
      p.appendChild(document.createTextNode(' '));
    }
    h('strong', null, label, p);
    if (explanation) h('p', 'ac-status__text', explanation, box);
  }

  function shipment(s, i, count, steps) {
    var card = h('section', 'ac-ship' + (s.is_problem ? ' ac-ship--problem' : ''));
    h('h4', 'ac-ship__title', fmt(t.shipment_title, { name: s.name }), card);
    if (count > 1) h('p', 'ac-ship__count', fmt(t.shipment_count, { index: i + 1, count: count }), card);
    statusLine(s.status_label, s.status_explanation, s.is_problem, card);
    if (steps.length) progress(steps, typeof s.step_index === 'number' ? s.step_index : -1, card);

    if (s.estimate && s.estimate.label) {
      var est = h('p', 'ac-estimate', null, card);
      h('span', null, t.estimate + ': ', est);
      h('strong', null, s.estimate.label, est);
    }

    var c = s.carrier || {};
    if (c.name || c.tracking_number) {
      var dl = h('dl', 'ac-carrier', null, card);
      if (c.name) { h('dt', null, t.carrier, dl); h('dd', null, c.name, dl); }
      if (c.tracking_number) { h('dt', null, t.tracking_number, dl); h('dd', null, c.tracking_number, dl); }
    }
    var u = c.tracking_url && parseUrl(c.tracking_url);
    if (u && /^https?:$/.test(u.protocol)) {
      var a = h('a', 'ac-link', t.carrier_link, h('p', 'ac-carrier__link', null, card));
      a.href = u.href;
      a.target = '_blank';
      a.rel = 'noopener noreferrer';
      h('span', 'ac-vh', ' ' + t.new_tab, a);
    }

    if (s.events && s.events.length) {
      h('h5', 'ac-subhead', t.history, card);
      var ol = h('ol', 'ac-timeline', null, card);
      s.events.forEach(function (ev) {
        var li = h('li', 'ac-event', null, ol);
        var time = h('time', null, ev.happened_at_display || ev.happened_at, li);
        if (ev.happened_at) time.setAttribute('datetime', ev.happened_at);
        h('strong', null, ev.label, li);
        h('span', null, ev.message, li);
        h('span', 'ac-event__loc', ev.location, li);
      });
    }

    if (s.items && s.items.length) {
      h('h5', 'ac-subhead', t.items, card);
      itemList(s.items, card);
    }
    return card;
  }

  function recs(d) {
    var box = h('section', 'ac-ship ac-recs');
    h('h4', 'ac-ship__title', d.recommendations_title, box);
    var ul = h('ul', null, null, box);
    d.recommendations.forEach(function (r) {
      var a = h('a', null, null, h('li', null, null, ul)), m = h('i', null, null, a), src = parseUrl(r.image_url);
      if (/^https:/.test(r.url)) a.href = r.url;
      if (r.image_url && src && src.origin === location.origin) (m = h('img', null, null, m)).alt = '', m.src = src.href;
      h('span', null, r.title, a);
      h('b', null, r.price_label, a);
    });
    return box;
  }

  function render(d) {
    var o = d.order;
    var ships = d.shipments || [];
    var head = h('div', 'ac-order');
    h('h3', 'ac-order__title', fmt(t.order_title, { name: o.name }), head);
    var placed = formatDate(o.placed_at, d.locale || locale);
    if (placed) h('p', 'ac-order__date', fmt(t.placed_on, { date: placed }), head);
    statusLine(o.status_label, o.status_explanation, false, head);
    var nodes = [head];
    ships.forEach(function (s, i) { nodes.push(shipment(s, i, ships.length, d.steps || [])); });
    var rest = d.unfulfilled_items || [];
    if (rest.length) {
      var box = h('section', 'ac-ship ac-ship--pending');
      h('h4', 'ac-ship__title', t.unfulfilled, box);
      itemList(rest, box);
      nodes.push(box);
    }
    if ((d.recommendations || []).length) nodes.push(recs(d));
    show(nodes);
  }

  function lookup(params) {
    if (pending) pending.abort();
    var ctrl = pending = new AbortController();
    var timer = setTimeout(function () { ctrl.abort(); }, 20000);
    var done = function () { return ctrl !== pending; };
    params.set('locale', locale);
    reserve();
    message(t.loading, 'loading');
    fetch(endpoint + '?' + params, {
      headers: { Accept: 'application/json' },
      signal: ctrl.signal
    })
      .then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (data) {
          if (done()) return;
          if (res.status === 200 && data && data.order) return render(data);
          var key = { 400: 'invalid', 404: 'not_found', 429: 'rate_limited' }[res.status] || 'error';
          var text = key !== 'error' && data && typeof data.message === 'string' && data.message;
          message(text || t[key], key === 'error' ? 'error' : 'warn');
        });
      })
      .catch(function () { if (!done()) message(t.error, 'error'); })
      .then(function () {
        clearTimeout(timer);
        if (!done()) pending = null;
      });
  }

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var order = orderIn.value.trim().replace(/^#/, '');
    var contact = contactIn.value.trim();
    if (!order) return orderIn.focus();
    if (!contact) return contactIn.focus();
    var params = new URLSearchParams({ order: order });
    params.set(contact.indexOf('@') < 0 ? 'phone' : 'email', contact);
    lookup(params);
  });

  var token = new URLSearchParams(location.search).get('token');
  if (token) lookup(new URLSearchParams({ token: token }));
}

function scan(scope) {
  var els = (scope || document).querySelectorAll('[data-aftercart-tracking]');
  for (var i = 0; i < els.length; i++) init(els[i]);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', function () { scan(); });
else scan();
// Theme editor: a section was re-rendered with the block in it.
document.addEventListener('shopify:section:load', function (e) { scan(e.target); });
})();

/* Aftercart product reviews block. Plain JS, deferred. No cookies or storage; one same-origin request per page
   (the app proxy). Server data goes in as textContent only; photos only from this origin. */
(function () {
'use strict';

function h(tag, cls, text, parent) {
  var el = document.createElement(tag);
  if (cls) el.className = cls;
  if (text != null && text !== '') el.textContent = String(text);
  if (parent) parent.appendChild(el);
  return el;
}

function fmt(s, vars) {
  return String(s || '').replace(/\{(\w+)\}/g, function (m, k) { return vars[k] != null ? vars[k] : m; });
}

function formatDate(iso, locale) {
  var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || '');
  if (!m) return '';
  try {
    return new Date(Date.UTC(+m[1], m[2] - 1, +m[3])).toLocaleDateString(locale, { dateStyle: 'medium', timeZone: 'UTC' });
  } catch (e) { return iso; }
}

function sameOrigin(u) {
  try { return new URL(u, location.href).origin === location.origin; } catch (e) { return false; }
}

function init(root) {
  if (root.hasAttribute('data-ac-ready')) return;
  root.setAttribute('data-ac-ready', '');
  var $ = function (s) { return root.querySelector(s); };
  var t = {};
  try { t = JSON.parse($('[data-acr-strings]').textContent); } catch (e) { /* defaults stay empty */ }
  var locale = root.getAttribute('data-locale') || document.documentElement.lang || 'en';
  var base = (root.getAttribute('data-root') || '/').replace(/\/$/, '') + '/' +
    (root.getAttribute('data-proxy-path') || 'apps/aftercart').replace(/^\/+|\/+$/g, '');
  var product = root.getAttribute('data-product-id');
  var summary = $('[data-acr-summary]');
  var list = $('[data-acr-list]');
  var pages = $('[data-acr-pages]');
  var ld = null;
  var current = 1;

  function stars(value, parent) {
    var s = h('span', 'acr-stars', null, parent);
    s.style.setProperty('--acr-r', value);
    s.setAttribute('role', 'img');
    s.setAttribute('aria-label', fmt(t.stars, { n: value }));
    return s;
  }

  function review(r) {
    var item = h('article', 'acr-review', null, list);
    stars(r.rating, item);
    if (r.title) h('p', 'acr-title', r.title, item);
    h('p', 'acr-meta', [r.author, formatDate(r.date, locale)].filter(Boolean).join(' · '), item);
    if (r.body) h('p', 'acr-body', r.body, item);
    var photos = (r.photos || []).filter(sameOrigin);
    if (photos.length) {
      var box = h('div', 'acr-photos', null, item);
      photos.forEach(function (src, i) {
        var img = h('img', 'acr-photo', null, box);
        img.width = 96; img.height = 72; img.loading = 'lazy'; img.decoding = 'async';
        img.alt = fmt(t.photo, { n: i + 1, author: r.author || '' });
        img.src = src;
      });
    }
    if (r.reply && r.reply.body) {
      var reply = h('div', 'acr-reply', null, item);
      h('p', 'acr-meta', t.reply, reply);
      h('p', null, r.reply.body, reply);
    }
  }

  function show(data) {
    summary.textContent = '';
    list.textContent = '';
    if (!data.count) {
      summary.textContent = t.none || '';
    } else {
      stars(data.rating, summary);
      h('span', null, fmt(t.summary, { rating: data.rating, count: data.count }), summary);
      (data.reviews || []).forEach(review);
    }
    current = data.page || 1;
    pages.hidden = !(data.pages > 1);
    $('[data-acr-page]').textContent = fmt(t.page, { page: current, pages: data.pages });
    $('[data-acr-prev]').disabled = current <= 1;
    $('[data-acr-next]').disabled = current >= data.pages;
    if (data.jsonld) {
      if (!ld) { ld = document.createElement('script'); ld.type = 'application/ld+json'; root.appendChild(ld); }
      ld.textContent = JSON.stringify(data.jsonld);
    }
  }

  function load(page) {
    var url = base + '/reviews/product/' + encodeURIComponent(product) + '?page=' + page +
      '&locale=' + encodeURIComponent(locale) + '&name=' + encodeURIComponent(root.getAttribute('data-product-name') || '');
    fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (res) { if (!res.ok) throw new Error(res.status); return res.json(); })
      .then(show)
      .catch(function () { summary.textContent = t.error || ''; });
  }

  $('[data-acr-prev]').addEventListener('click', function () { load(current - 1); });
  $('[data-acr-next]').addEventListener('click', function () { load(current + 1); });
  if (/^\d+$/.test(product || '')) load(1);
}

function start() {
  Array.prototype.forEach.call(document.querySelectorAll('[data-aftercart-reviews]'), init);
}
if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
document.addEventListener('shopify:section:load', start);
})();

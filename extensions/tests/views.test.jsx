// The blocks' drawing, rendered to HTML with preact-render-to-string: each state a shopper can meet, in English
// and Thai. Built by extensions/build.mjs and run with `node --test` (tests/extensions/test_ui_extensions.py).
import assert from 'node:assert/strict';
import {describe, it} from 'node:test';

import {render} from 'preact-render-to-string';

import {callBackend} from '../shared/api.js';
import {KEYS, pickLocale, translator} from '../shared/strings.js';
import {OrderStatusView, ThankYouView} from '../shared/views.jsx';

const noop = async () => ({ok: true, data: {}});

function parcel(overrides = {}) {
  return {
    name: '#1050.1',
    status: 'in_transit',
    status_label: 'In transit',
    status_explanation: 'Your parcel is on its way.',
    is_problem: false,
    is_late: false,
    estimate: 'Mon 7 – Wed 9 Dec',
    delivered_at: null,
    carrier: {name: 'Kerry Express', tracking_number: 'SHP5012345678', tracking_url: 'https://th.kerryexpress.com/track/?track=SHP5012345678'},
    scans: [
      {label: 'In transit', message: null, location: 'Bangkok', at: '5 Dec, 09:10'},
      {label: 'Picked up', message: null, location: null, at: '4 Dec, 17:00'},
    ],
    ...overrides,
  };
}

function orderStatus(parcels, actions = {}, extra = {}) {
  return {order: {name: '#1050', status: 'shipped'}, parcels, waiting_items: 0, actions: {sms: true, line_url: null, return_url: null, survey: null, ...actions}, ...extra};
}

const html = (vnode) => render(vnode);

for (const locale of ['en', 'th']) {
  const t = translator(locale);
  describe(`order status block (${locale})`, () => {
    it('in transit: status, estimate, latest scans and the carrier link', () => {
      const out = html(<OrderStatusView data={orderStatus([parcel()])} t={t} onSms={noop} />);
      assert.match(out, /<s-section heading="/);
      assert.ok(out.includes(t('heading')));
      assert.ok(out.includes('In transit'));
      assert.ok(out.includes(t('estimate', {range: 'Mon 7 – Wed 9 Dec'})));
      assert.ok(out.includes(t('latestScans')) && out.includes('5 Dec, 09:10 · In transit · Bangkok'));
      assert.ok(out.includes('href="https://th.kerryexpress.com/track/?track=SHP5012345678"'));
      assert.ok(out.includes(t('carrierLink', {carrier: 'Kerry Express'})));
      assert.ok(!out.includes(t('late')));
      assert.ok(out.includes(t('smsHeading')) && out.includes('<s-phone-field') && out.includes('<s-checkbox'));
      assert.ok(!out.includes(t('startReturn')));
    });

    it('delayed: flagged late with a critical badge', () => {
      const late = parcel({status: 'delayed', status_label: 'Delayed', is_late: true});
      const out = html(<OrderStatusView data={orderStatus([late])} t={t} onSms={noop} />);
      assert.ok(out.includes(t('late')));
      assert.match(out, /<s-badge tone="critical">/);
    });

    it('delivered with a survey: the survey and the signed return link', () => {
      const delivered = parcel({status: 'delivered', status_label: 'Delivered', estimate: null, delivered_at: '6 Dec, 14:02'});
      const actions = {
        return_url: 'https://app.example.com/l/returns/abc?locale=' + locale,
        survey: {question: 'How was your delivery?', url: 'https://app.example.com/l/s/a/xyz', answered: false},
      };
      const out = html(<OrderStatusView data={orderStatus([delivered], actions)} t={t} onSms={noop} />);
      assert.ok(out.includes(t('deliveredAt', {when: '6 Dec, 14:02'})));
      assert.ok(out.includes(t('survey')) && out.includes('href="https://app.example.com/l/s/a/xyz"'));
      assert.ok(out.includes(t('startReturn')) && out.includes(`href="https://app.example.com/l/returns/abc?locale=${locale}"`));
      const answered = html(
        <OrderStatusView data={orderStatus([delivered], {...actions, survey: {...actions.survey, answered: true}})} t={t} onSms={noop} />,
      );
      assert.ok(!answered.includes(t('survey') + '<') && answered.includes(t('surveyDone')));
    });

    it('split order: every parcel, and what is still to ship', () => {
      const data = orderStatus(
        [parcel(), parcel({name: '#1050.2', status: 'delivered', status_label: 'Delivered', carrier: {name: 'Flash', tracking_number: 'TH01', tracking_url: null}})],
        {},
        {waiting_items: 2},
      );
      const out = html(<OrderStatusView data={data} t={t} onSms={noop} />);
      assert.ok(out.includes(t('parcel', {name: '#1050.1'})) && out.includes(t('parcel', {name: '#1050.2'})));
      assert.ok(out.includes('<s-divider'));
      assert.ok(out.includes(t('trackingNumber', {number: 'TH01'})));
      assert.ok(out.includes(t('waiting', {count: 2})));
    });

    it('no tracking yet: says so, and still offers updates', () => {
      const out = html(<OrderStatusView data={orderStatus([], {line_url: 'https://line.me/R/oaMessage/@shop/?AC-x'})} t={t} onSms={noop} />);
      assert.ok(out.includes(t('noTracking')));
      assert.ok(out.includes(t('line')) && out.includes('href="https://line.me/R/oaMessage/@shop/?AC-x"'));
    });

    it("a fulfilment card's slot: that parcel only, without the page's actions", () => {
      const data = orderStatus([parcel()], {return_url: 'https://app.example.com/l/returns/abc'});
      const out = html(<OrderStatusView data={data} t={t} onSms={noop} slot />);
      assert.ok(!out.includes('<s-section') && !out.includes(t('startReturn')) && !out.includes(t('smsHeading')));
      assert.ok(out.includes('In transit'));
    });
  });

  describe(`thank-you block (${locale})`, () => {
    it('confirms tracking, offers updates and asks the question', () => {
      const data = {order: {name: '#1051'}, tracked: true, question: 'How did you hear about us?', answered: false, sms: true, line_url: null};
      const out = html(<ThankYouView data={data} t={t} onSms={noop} onAnswer={noop} />);
      assert.ok(out.includes(t('tracked')) && out.includes(t('trackedDetail', {name: '#1051'})));
      assert.ok(out.includes(t('smsConsent')));
      assert.ok(out.includes('How did you hear about us? (' + t('questionOptional') + ')'));
    });

    it('answered: no question again', () => {
      const data = {order: {name: '#1051'}, tracked: true, question: null, answered: true, sms: false, line_url: null};
      const out = html(<ThankYouView data={data} t={t} onSms={noop} onAnswer={noop} />);
      assert.ok(out.includes(t('answered')) && !out.includes('<s-text-field') && !out.includes('<s-phone-field'));
    });
  });
}

describe('languages', () => {
  it("follows the buyer's locale, English otherwise", () => {
    assert.equal(pickLocale('th-TH'), 'th');
    assert.equal(pickLocale('TH'), 'th');
    assert.equal(pickLocale('fr'), 'en');
    assert.equal(pickLocale(undefined), 'en');
  });

  it('every key in both languages, and the Thai is Thai', () => {
    assert.deepEqual(Object.keys(KEYS.th).sort(), Object.keys(KEYS.en).sort());
    for (const key of Object.keys(KEYS.en)) {
      assert.notEqual(KEYS.th[key], KEYS.en[key], key);
      assert.match(KEYS.th[key], /[\u0E00-\u0E7F]/, key);
    }
  });
});

describe('backend calls', () => {
  it('send the session token as a bearer token and never throw', async () => {
    const seen = [];
    const original = globalThis.fetch;
    globalThis.fetch = async (url, init) => {
      seen.push({url, init});
      return new Response(JSON.stringify({parcels: []}), {status: 200});
    };
    try {
      const shopify = {sessionToken: {get: async () => 'tok'}};
      const result = await callBackend(shopify, '/ext/customer-account/order', {query: {order: 'gid://shopify/Order/1', fulfillment: undefined}});
      assert.equal(result.ok, true);
      assert.equal(seen[0].init.headers.Authorization, 'Bearer tok');
      assert.match(seen[0].url, /\/ext\/customer-account\/order\?order=gid%3A%2F%2Fshopify%2FOrder%2F1$/);
      globalThis.fetch = async () => {
        throw new TypeError('offline');
      };
      assert.deepEqual(await callBackend(shopify, '/ext/x'), {ok: false, status: 0, data: {}});
    } finally {
      globalThis.fetch = original;
    }
  });
});

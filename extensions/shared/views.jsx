// What the blocks draw, as pure Preact components over our backend's JSON (Polaris web components, which
// Shopify renders on its own pages). The entry modules fetch; these only draw, so tests render them directly.
import {useState} from 'preact/hooks';

function statusTone(parcel) {
  if (parcel.is_problem || parcel.is_late) return 'critical';
  return parcel.status === 'delivered' ? 'neutral' : 'auto';
}

export function ParcelCard({parcel, t}) {
  const carrier = parcel.carrier || {};
  return (
    <s-stack gap="small-200">
      <s-stack direction="inline" gap="small-200" alignItems="center">
        <s-text type="strong">{t('parcel', {name: parcel.name || ''})}</s-text>
        <s-badge tone={statusTone(parcel)}>{parcel.status_label}</s-badge>
        {parcel.is_late ? <s-badge tone="critical">{t('late')}</s-badge> : null}
      </s-stack>
      <s-text>{parcel.status_explanation}</s-text>
      {parcel.estimate ? <s-text>{t('estimate', {range: parcel.estimate})}</s-text> : null}
      {parcel.delivered_at ? <s-text>{t('deliveredAt', {when: parcel.delivered_at})}</s-text> : null}
      {parcel.scans && parcel.scans.length ? (
        <s-stack gap="small-300">
          <s-text type="strong">{t('latestScans')}</s-text>
          {parcel.scans.map((scan) => (
            <s-text color="subdued">
              {[scan.at, scan.label, scan.location].filter(Boolean).join(' · ')}
            </s-text>
          ))}
        </s-stack>
      ) : null}
      {carrier.tracking_url ? (
        <s-link href={carrier.tracking_url} target="_blank">
          {t('carrierLink', {carrier: carrier.name || carrier.tracking_number || ''})}
        </s-link>
      ) : carrier.tracking_number ? (
        <s-text>{t('trackingNumber', {number: carrier.tracking_number})}</s-text>
      ) : null}
    </s-stack>
  );
}

export function SmsSignup({t, onSubmit, initialState = 'idle', message = ''}) {
  const [phone, setPhone] = useState('');
  const [consent, setConsent] = useState(false);
  const [state, setState] = useState(initialState);
  const [note, setNote] = useState(message);
  async function submit() {
    setState('sending');
    const result = await onSubmit({phone, consent});
    setState(result.ok ? 'sent' : 'idle');
    setNote(result.data && result.data.message ? result.data.message : '');
  }
  if (state === 'sent') return <s-banner tone="success">{note}</s-banner>;
  return (
    <s-stack gap="small-200">
      <s-text type="strong">{t('smsHeading')}</s-text>
      <s-phone-field label={t('phone')} value={phone} onInput={(e) => setPhone(e.currentTarget.value)} />
      <s-checkbox label={t('smsConsent')} checked={consent} onChange={(e) => setConsent(e.currentTarget.checked)} />
      {note ? <s-text color="subdued">{note}</s-text> : null}
      <s-button disabled={!consent || !phone || state === 'sending'} loading={state === 'sending'} onClick={submit}>
        {t('smsSubmit')}
      </s-button>
    </s-stack>
  );
}

function Updates({actions, t, onSms}) {
  if (!actions.sms && !actions.line_url) return null;
  return (
    <s-stack gap="small-200">
      {actions.sms ? <SmsSignup t={t} onSubmit={onSms} /> : null}
      {actions.line_url ? (
        <s-link href={actions.line_url} target="_blank">
          {t('line')}
        </s-link>
      ) : null}
    </s-stack>
  );
}

/** The order status page: every parcel (the block) or one (a fulfilment card's slot), and the next steps. */
export function OrderStatusView({data, t, onSms, slot = false}) {
  const parcels = data.parcels || [];
  const actions = data.actions || {};
  const body = (
    <s-stack gap="base">
      {parcels.length === 0 ? <s-text>{t('noTracking')}</s-text> : null}
      {parcels.map((parcel, index) => (
        <s-stack gap="base">
          {index > 0 ? <s-divider /> : null}
          <ParcelCard parcel={parcel} t={t} />
        </s-stack>
      ))}
      {!slot && data.waiting_items && parcels.length ? (
        <s-text color="subdued">{t('waiting', {count: data.waiting_items})}</s-text>
      ) : null}
      {!slot && (actions.return_url || actions.survey) ? (
        <s-stack direction="inline" gap="base">
          {actions.survey && !actions.survey.answered ? (
            <s-button href={actions.survey.url} target="_blank">
              {t('survey')}
            </s-button>
          ) : null}
          {actions.return_url ? (
            <s-button variant="secondary" href={actions.return_url} target="_blank">
              {t('startReturn')}
            </s-button>
          ) : null}
        </s-stack>
      ) : null}
      {!slot && actions.survey && actions.survey.answered ? <s-text color="subdued">{t('surveyDone')}</s-text> : null}
      {!slot ? <Updates actions={actions} t={t} onSms={onSms} /> : null}
    </s-stack>
  );
  return slot ? body : <s-section heading={t('heading')}>{body}</s-section>;
}

export function Question({question, t, onAnswer}) {
  const [answer, setAnswer] = useState('');
  const [state, setState] = useState('idle');
  const [error, setError] = useState('');
  async function submit() {
    setState('sending');
    const result = await onAnswer(answer);
    setState(result.ok ? 'sent' : 'idle');
    setError(result.ok ? '' : (result.data && result.data.reason) || '');
  }
  if (state === 'sent') return <s-text color="subdued">{t('answered')}</s-text>;
  return (
    <s-stack gap="small-200">
      <s-text-field
        label={`${question} (${t('questionOptional')})`}
        value={answer}
        maxLength={200}
        error={error || undefined}
        onInput={(e) => setAnswer(e.currentTarget.value)}
      />
      <s-button variant="secondary" disabled={!answer.trim() || state === 'sending'} onClick={submit}>
        {t('answerSubmit')}
      </s-button>
    </s-stack>
  );
}

/** The thank-you page: the order will be tracked, text/LINE updates with consent, the shop's one question. */
export function ThankYouView({data, t, onSms, onAnswer}) {
  return (
    <s-section heading={t('tracked')}>
      <s-stack gap="base">
        <s-text>{t('trackedDetail', {name: (data.order && data.order.name) || ''})}</s-text>
        <Updates actions={data} t={t} onSms={onSms} />
        {data.question ? <Question question={data.question} t={t} onAnswer={onAnswer} /> : null}
        {data.answered ? <s-text color="subdued">{t('answered')}</s-text> : null}
      </s-stack>
    </s-section>
  );
}

export function Loading({t}) {
  return <s-text color="subdued">{t('loading')}</s-text>;
}

// The extensions' own words, in the buyer's language (Shopify's `localization.language`); everything about the
// order itself (status names, explanations, estimates, scans) comes from our backend already translated.
const STRINGS = {
  en: {
    heading: 'Delivery updates',
    parcel: 'Parcel {name}',
    late: 'Running late',
    estimate: 'Expected {range}',
    deliveredAt: 'Delivered {when}',
    latestScans: 'Latest updates',
    carrierLink: 'Track with {carrier}',
    trackingNumber: 'Tracking number {number}',
    noTracking: 'Your order has not shipped yet. Tracking will appear here as soon as it leaves the shop.',
    waiting: '{count} item(s) still to be sent',
    startReturn: 'Start a return',
    survey: 'Answer the survey',
    surveyDone: 'Thanks for rating your delivery.',
    smsHeading: 'Get delivery updates by text',
    phone: 'Mobile number',
    smsConsent: 'Text me updates about this order. Reply STOP to stop.',
    smsSubmit: 'Send me updates',
    line: 'Get updates on LINE',
    loading: 'Loading delivery updates…',
    unavailable: 'Delivery updates are not available right now.',
    tracked: 'We will keep you posted on your delivery.',
    trackedDetail: 'You will get an update as soon as order {name} ships, and at every step after that.',
    questionOptional: 'Optional',
    answerSubmit: 'Send',
    answered: 'Thank you for telling us.',
  },
  th: {
    heading: 'อัปเดตการจัดส่ง',
    parcel: 'พัสดุ {name}',
    late: 'ล่าช้ากว่ากำหนด',
    estimate: 'คาดว่าจะได้รับ {range}',
    deliveredAt: 'จัดส่งสำเร็จ {when}',
    latestScans: 'ความเคลื่อนไหวล่าสุด',
    carrierLink: 'ติดตามกับ {carrier}',
    trackingNumber: 'เลขพัสดุ {number}',
    noTracking: 'คำสั่งซื้อของคุณยังไม่ได้จัดส่ง ข้อมูลการติดตามจะแสดงที่นี่ทันทีที่พัสดุออกจากร้าน',
    waiting: 'ยังมีสินค้าอีก {count} ชิ้นที่รอจัดส่ง',
    startReturn: 'เริ่มการคืนสินค้า',
    survey: 'ตอบแบบสอบถาม',
    surveyDone: 'ขอบคุณที่ให้คะแนนการจัดส่ง',
    smsHeading: 'รับอัปเดตการจัดส่งทาง SMS',
    phone: 'เบอร์มือถือ',
    smsConsent: 'ส่งข้อความอัปเดตคำสั่งซื้อนี้ให้ฉัน ตอบ STOP เพื่อยกเลิก',
    smsSubmit: 'ส่งอัปเดตให้ฉัน',
    line: 'รับอัปเดตทาง LINE',
    loading: 'กำลังโหลดข้อมูลการจัดส่ง…',
    unavailable: 'ขณะนี้ไม่สามารถแสดงข้อมูลการจัดส่งได้',
    tracked: 'เราจะแจ้งความคืบหน้าการจัดส่งให้คุณทราบ',
    trackedDetail: 'คุณจะได้รับอัปเดตทันทีที่คำสั่งซื้อ {name} ถูกจัดส่ง และทุกขั้นตอนหลังจากนั้น',
    questionOptional: 'ไม่บังคับ',
    answerSubmit: 'ส่ง',
    answered: 'ขอบคุณที่บอกเรา',
  },
};

/** The buyer's language as one of ours ("th-TH" -> "th"), English otherwise. */
export function pickLocale(isoCode) {
  const base = String(isoCode || '').toLowerCase().split(/[-_]/)[0];
  return base in STRINGS ? base : 'en';
}

/** translate(key, values): the word in `locale`, with {placeholders} filled. */
export function translator(locale) {
  const words = STRINGS[pickLocale(locale)];
  return (key, values = {}) =>
    (words[key] ?? STRINGS.en[key] ?? key).replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ''));
}

export const LOCALES = Object.keys(STRINGS);
export const KEYS = STRINGS;

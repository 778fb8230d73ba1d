// Developer-chosen identifiers: pure rules, no I/O.

/** Reverse-DNS: two or more dot-separated labels of letters, digits and inner hyphens, the first starting with a letter. */
const BUNDLE_ID = /^[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

export const BUNDLE_ID_RULE =
  'a reverse-DNS identifier such as com.example.app: at least two dot-separated labels of letters, digits and hyphens (not at either end of a label), starting with a letter, at most 155 characters';

export function isBundleId(text: string): boolean {
  return text.length <= 155 && BUNDLE_ID.test(text);
}

/** In-app product ids: letters, digits, dots, underscores and hyphens, e.g. com.example.app.gems100. */
const PRODUCT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export const PRODUCT_ID_RULE = '1 to 100 letters, digits, dots, underscores or hyphens, starting with a letter or digit';

export function isProductId(text: string): boolean {
  return PRODUCT_ID.test(text);
}

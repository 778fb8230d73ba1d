// Signed receipts in the App Store's StoreKit 2 format: a transaction as a compact JWS (ES256) whose x5c chain
// leads to an Orchard root CA, verifiable by Apple's own App Store Server Library given our root.
export { loadOrCreateReceiptKeys, rotateReceiptLeaf, RECEIPT_KEY_FILES, type ReceiptKeys, type ReceiptKeySource, type ReceiptKeyLog } from './keys.ts';
export {
  toDecodedPayload,
  type TransactionRecord,
  type DecodedTransactionPayload,
  type TransactionKind,
  type TransactionType,
  type TransactionReason,
  type ReceiptEnvironment,
} from './payload.ts';
export { toRenewalInfoPayload, type RenewalRecord, type RenewalStatus, type DecodedRenewalInfoPayload } from './renewal.ts';
export {
  createReceiptSigner,
  verifyReceipt,
  type ReceiptSigner,
  type ReceiptHeader,
  type ReceiptRejection,
  type ReceiptVerification,
} from './jws.ts';

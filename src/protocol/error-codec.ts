// Lossless transport of thrown values: see codec-shared.ts for the format.
export type { EncodedError, EncodedOther, EncodedRef, EncodedThrown, EncodedValue } from './codec-shared.js'
export { encodeThrown } from './encode-thrown.js'
export { decodeThrown } from './decode-thrown.js'

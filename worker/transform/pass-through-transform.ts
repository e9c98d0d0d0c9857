import type { RecordTransform } from './transform';

/** `SerializationType.type = STRING`: the bytes go out exactly as they came in. */
export const passThroughTransform: RecordTransform = {
  name: 'builtin:pass-through',
  transform: (record) => ({ ok: true, data: record.data }),
};

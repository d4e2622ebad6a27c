/**
 * V8's serializer, refusing shared memory instead of copying it: for values written into shared memory for another
 * thread to read (steal slots, a worker's inbox). The default serializer silently turns a view of a
 * `SharedArrayBuffer` into a plain copy, so a reader's writes would be lost; refused, the value goes by `postMessage`,
 * which shares it. The two hooks are Node's documented ones for subclasses (`serializer._getSharedArrayBufferId`,
 * `serializer._writeHostObject`), missing from its typings.
 */
import * as v8 from "node:v8"

class UnsharedSerializer extends v8.DefaultSerializer {
  _getSharedArrayBufferId(): never {
    throw new Error("a SharedArrayBuffer cannot be copied into shared memory")
  }
  _writeHostObject(object: object): void {
    if (ArrayBuffer.isView(object) && object.buffer instanceof SharedArrayBuffer) {
      throw new Error("a view of a SharedArrayBuffer cannot be copied into shared memory")
    }
    ;(v8.DefaultSerializer.prototype as unknown as { _writeHostObject(object: object): void })._writeHostObject.call(
      this,
      object
    )
  }
}

/** The value's bytes, as `v8.deserialize` reads them; throws for shared memory and what V8 cannot serialize. */
export const serializeUnshared = (value: unknown): Uint8Array => {
  const serializer = new UnsharedSerializer()
  serializer.writeHeader()
  serializer.writeValue(value)
  return serializer.releaseBuffer()
}

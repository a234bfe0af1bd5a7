/**
 * The ext_proc wire types: `envoy.service.ext_proc.v3` as the `.proto` files shipped in
 * @grpc/grpc-js-xds declare it, loaded with protobufjs, and the gRPC service definition that encodes
 * and decodes them with protobufjs directly.
 *
 * Decoding yields protobufjs message instances, not plain objects converted field by field (what
 * @grpc/proto-loader does, at several times the cost per message): a field that is not on the wire
 * reads its proto3 default from the prototype (`''`, `0`, `false`, an empty Buffer, or `null` for a
 * message), enums are numbers, a oneof's name (`request`, `kind`) is a getter. Encoding takes plain
 * objects of the shapes below (enums as numbers).
 *
 * Those files (grpc-js-xds 1.14) predate Envoy's FULL_DUPLEX_STREAMED body mode: they lack
 * `StreamedBodyResponse` and `BodyMutation.streamed_response` (field 3), which the mode needs to send
 * bodies back, the mode itself (BodySendMode 4) and `ProcessingRequest.protocol_config` (field 11,
 * the filter's body modes). They are added to the loaded root here, with the numbers of Envoy's API
 * (envoy/service/ext_proc/v3/external_processor.proto), so the rest of the room can speak the real
 * peer's protocol. Only the fields this room reads or writes are typed below.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { ServiceDefinition } from '@grpc/grpc-js';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);

export const EXT_PROC_SERVICE = 'envoy.service.ext_proc.v3.ExternalProcessor';

/** google.protobuf.Value / Struct (decoded: `kind` names the member set; unset members read defaults). */
export interface ProtoValue {
  kind?: string;
  nullValue?: number;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: ProtoStruct | null;
  listValue?: { values?: ProtoValue[] } | null;
}
export interface ProtoStruct {
  fields?: Record<string, ProtoValue>;
}

export interface HeaderValue {
  key: string;
  value?: string;
  rawValue?: Buffer;
}

export interface HttpHeaders {
  headers?: { headers?: HeaderValue[] } | null;
  endOfStream?: boolean;
}

export interface HttpBody {
  /** Decoded: a Buffer, or an empty array when the chunk is empty (check `length`). */
  body?: Buffer;
  endOfStream?: boolean;
}

/** One message from Envoy: exactly one of the six parts, plus metadata and attributes. */
export interface ProcessingRequest {
  request?:
    | 'requestHeaders'
    | 'responseHeaders'
    | 'requestBody'
    | 'responseBody'
    | 'requestTrailers'
    | 'responseTrailers';
  requestHeaders?: HttpHeaders | null;
  responseHeaders?: HttpHeaders | null;
  requestBody?: HttpBody | null;
  responseBody?: HttpBody | null;
  requestTrailers?: object | null;
  responseTrailers?: object | null;
  /** `filter_metadata` by namespace (e.g. `envoy.lb`, `envoy.lb.subset_hint`). */
  metadataContext?: { filterMetadata?: Record<string, ProtoStruct> } | null;
  /** CEL attributes the filter was asked to send, keyed by filter name. */
  attributes?: Record<string, ProtoStruct>;
  /** The filter's body modes (first message of a stream only; Envoy ≥ 1.33); BodySendMode numbers. */
  protocolConfig?: { requestBodyMode?: number; responseBodyMode?: number } | null;
}

/** `ProcessingMode.BodySendMode.NONE`: the filter sends no body of that direction. */
export const BODY_SEND_MODE_NONE = 0;
/** `HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD`. */
export const OVERWRITE_IF_EXISTS_OR_ADD = 2;

export interface HeaderValueOption {
  header: { key: string; rawValue: Buffer };
  /** OVERWRITE_IF_EXISTS_OR_ADD: never append to a value the client sent. */
  appendAction: typeof OVERWRITE_IF_EXISTS_OR_ADD;
}

export interface HeaderMutation {
  setHeaders?: HeaderValueOption[];
  removeHeaders?: string[];
}

export interface CommonResponse {
  headerMutation?: HeaderMutation;
  bodyMutation?: { streamedResponse: { body: Buffer; endOfStream: boolean } };
  clearRouteCache?: boolean;
}

/** One message to Envoy. */
export interface ProcessingResponse {
  requestHeaders?: { response: CommonResponse };
  responseHeaders?: { response: CommonResponse };
  requestBody?: { response: CommonResponse };
  responseBody?: { response: CommonResponse };
  requestTrailers?: object;
  responseTrailers?: object;
  immediateResponse?: {
    status: { code: number };
    headers?: HeaderMutation;
    body: Buffer;
    details?: string;
  };
  dynamicMetadata?: ProtoStruct;
}

/** Where the shipped `.proto` trees are (envoy-api, xds, googleapis, protoc-gen-validate). */
function protoRoots(): string[] {
  const pkg = dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  return ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(pkg, 'deps', d));
}

/** Loads external_processor.proto and adds the FULL_DUPLEX_STREAMED body response. */
export function loadExtProcRoot(): protobuf.Root {
  // google/protobuf/descriptor.proto (imported by the validate and udpa annotations) is not on disk:
  // register protobufjs' own copy as a bundled file, as @grpc/proto-loader does.
  const descriptor = require('protobufjs/google/protobuf/descriptor.json') as {
    nested: { google: { nested: { protobuf: { nested: Record<string, unknown> } } } };
  };
  protobuf.common('descriptor', descriptor.nested.google.nested.protobuf.nested);
  const roots = protoRoots();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const r of roots) {
      const p = join(r, target);
      try {
        require.resolve(p);
        return p;
      } catch {
        // not under this root
      }
    }
    return target;
  };
  root.loadSync('envoy/service/ext_proc/v3/external_processor.proto', { keepCase: false });
  const ns = root.lookup('envoy.service.ext_proc.v3') as protobuf.Namespace;
  if (ns.get('StreamedBodyResponse') === null) {
    ns.add(
      new protobuf.Type('StreamedBodyResponse')
        .add(new protobuf.Field('body', 1, 'bytes'))
        .add(new protobuf.Field('endOfStream', 2, 'bool')),
    );
    const mutation = root.lookupType('envoy.service.ext_proc.v3.BodyMutation');
    const field = new protobuf.Field('streamedResponse', 3, 'StreamedBodyResponse');
    mutation.add(field);
    mutation.oneofs.mutation!.add(field);
  }
  const modes = root.lookupEnum('envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode');
  if (modes.values.FULL_DUPLEX_STREAMED === undefined) modes.add('FULL_DUPLEX_STREAMED', 4);
  if (ns.get('ProtocolConfiguration') === null) {
    const mode = 'envoy.extensions.filters.http.ext_proc.v3.ProcessingMode.BodySendMode';
    ns.add(
      new protobuf.Type('ProtocolConfiguration')
        .add(new protobuf.Field('requestBodyMode', 1, mode))
        .add(new protobuf.Field('responseBodyMode', 2, mode))
        .add(new protobuf.Field('sendBodyWithoutWaitingForHeaderResponse', 3, 'bool')),
    );
    root
      .lookupType('envoy.service.ext_proc.v3.ProcessingRequest')
      .add(new protobuf.Field('protocolConfig', 11, 'ProtocolConfiguration'));
  }
  root.resolveAll();
  return root;
}

let cached: ServiceDefinition | undefined;

/**
 * The `ExternalProcessor` service definition for `grpc.Server#addService`: one bidirectional
 * streaming method, messages encoded and decoded by protobufjs (see the top of this file).
 */
export function extProcService(): ServiceDefinition {
  if (cached) return cached;
  const root = loadExtProcRoot();
  const request = root.lookupType('envoy.service.ext_proc.v3.ProcessingRequest');
  const response = root.lookupType('envoy.service.ext_proc.v3.ProcessingResponse');
  const codec = (type: protobuf.Type) => ({
    serialize: (m: object): Buffer => {
      const bytes = type.encode(m as protobuf.Message).finish();
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    },
    deserialize: (b: Buffer): object => type.decode(b),
  });
  const req = codec(request);
  const res = codec(response);
  cached = {
    Process: {
      path: `/${EXT_PROC_SERVICE}/Process`,
      requestStream: true,
      responseStream: true,
      requestSerialize: req.serialize,
      requestDeserialize: req.deserialize,
      responseSerialize: res.serialize,
      responseDeserialize: res.deserialize,
      originalName: 'process',
    },
  };
  return cached;
}

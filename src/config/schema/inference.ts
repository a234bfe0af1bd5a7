/**
 * Gateway API Inference Extension: InferencePool (v1alpha1, v1alpha2 in inference.networking.x-k8s.io;
 * v1 in inference.networking.k8s.io), InferenceModel (v1alpha1, v1alpha2), InferenceObjective and
 * InferenceModelRewrite (v1alpha2), and the EndpointPickerConfig file format (v1alpha1).
 */
import { z } from 'zod';
import {
  duration,
  group,
  intIn,
  listOf,
  objectMeta,
  objectName,
  portNumber,
  resource,
  stringMap,
  text,
} from './common.js';

export const INFERENCE_GROUP_X = 'inference.networking.x-k8s.io';
export const INFERENCE_GROUP = 'inference.networking.k8s.io';

/** Annotation naming the pool's prefix-aware routing strategy (ACK, seed 003). */
export const ROUTING_STRATEGY_ANNOTATION = 'inference.networking.x-k8s.io/routing-strategy';
/** ACK v1alpha1: attaches a pool to a Gateway port without an HTTPRoute (seed 002). */
export const ATTACH_TO_ANNOTATION = 'inference.networking.x-k8s.io/attach-to';
/** infergate: names the EndpointPickerConfig a pool uses. */
export const PICKER_CONFIG_ANNOTATION = 'infergate.io/endpoint-picker-config';

const failureMode = z.enum(['FailOpen', 'FailClose']);

export const inferencePoolV1alpha1 = resource(
  z.object({
    selector: stringMap,
    targetPortNumber: portNumber,
  }),
);

export const inferencePoolV1alpha2 = resource(
  z.object({
    selector: stringMap,
    targetPortNumber: portNumber,
    extensionRef: z
      .object({
        group: group.optional(),
        kind: z.string().optional(),
        name: objectName,
        portNumber: portNumber.optional(),
        failureMode: failureMode.optional(),
      })
      .optional(),
  }),
);

export const inferencePoolV1 = resource(
  z.object({
    selector: z.object({
      matchLabels: stringMap.superRefine((v, ctx) => {
        const n = Object.keys(v).length;
        if (n < 1 || n > 64) {
          ctx.addIssue({
            code: 'custom',
            message: `has ${n} labels; 1 to 64 are required`,
            params: { code: 'OUT_OF_RANGE', fix: 'select the model server pods by at least one label' },
          });
        }
      }),
    }),
    targetPorts: listOf(z.object({ number: portNumber }), 8, 1),
    appProtocol: z.enum(['http', 'kubernetes.io/h2c']).optional(),
    endpointPickerRef: z
      .object({
        group: group.optional(),
        kind: z.string().optional(),
        name: objectName,
        port: z.object({ number: portNumber }).optional(),
        failureMode: failureMode.optional(),
      })
      .optional(),
  }),
);

export type InferencePoolV1alpha1 = z.output<typeof inferencePoolV1alpha1>;
export type InferencePoolV1alpha2 = z.output<typeof inferencePoolV1alpha2>;
export type InferencePoolV1 = z.output<typeof inferencePoolV1>;

const poolRef = z.object({ group: group.optional(), kind: z.string().optional(), name: objectName });

export const inferenceModelV1alpha1 = resource(
  z.object({
    modelName: text(253, 1),
    criticality: z.enum(['Critical', 'Default', 'Sheddable']).optional(),
    targetModels: listOf(
      z.object({
        name: text(253, 1),
        weight: intIn(0, 1_000_000, 'use a weight from 0 to 1000000').optional(),
      }),
      10,
    ).optional(),
    poolRef,
  }),
);

export const inferenceModelV1alpha2 = resource(
  z.object({
    modelName: text(256, 1),
    criticality: z.enum(['Critical', 'Standard', 'Sheddable']).optional(),
    targetModels: listOf(
      z.object({
        name: text(253, 1),
        weight: intIn(1, 1_000_000, 'use a weight from 1 to 1000000').optional(),
      }),
      10,
    ).optional(),
    poolRef,
  }),
);

export type InferenceModelV1alpha1 = z.output<typeof inferenceModelV1alpha1>;
export type InferenceModelV1alpha2 = z.output<typeof inferenceModelV1alpha2>;

export const inferenceObjective = resource(
  z.object({
    priority: z.int().optional(),
    poolRef,
  }),
);
export type InferenceObjective = z.output<typeof inferenceObjective>;

export const inferenceModelRewrite = resource(
  z.object({
    poolRef,
    rules: listOf(
      z.object({
        matches: z
          .array(z.object({ model: z.object({ type: z.enum(['Exact']).optional(), value: text(256, 1) }) }))
          .optional(),
        targets: listOf(
          z.object({
            modelRewrite: text(256, 1),
            weight: intIn(1, 1_000_000, 'use a weight from 1 to 1000000').optional(),
          }),
          64,
          1,
        ).optional(),
      }),
      64,
      1,
    ),
  }),
);
export type InferenceModelRewrite = z.output<typeof inferenceModelRewrite>;

/**
 * The EPP configuration file. Upstream it is not a Kubernetes object (no metadata); infergate also
 * accepts `metadata.name`/`namespace` so that pools can pick a config by name.
 */
export const endpointPickerConfig = z.object({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: objectMeta.optional(),
  featureGates: z.array(z.string()).optional(),
  plugins: z.array(
    z.object({
      name: z.string().optional(),
      type: text(253, 1),
      parameters: z.record(z.string(), z.unknown()).optional(),
    }),
  ),
  schedulingProfiles: z
    .array(
      z.object({
        name: text(253, 1),
        plugins: z.array(z.object({ pluginRef: text(253, 1), weight: z.number().optional() })),
      }),
    )
    .optional(),
  saturationDetector: z
    .object({
      queueDepthThreshold: z.int().optional(),
      kvCacheUtilThreshold: z.number().optional(),
      metricsStalenessThreshold: duration.optional(),
    })
    .optional(),
  data: z.looseObject({}).optional(),
  flowControl: z.looseObject({}).optional(),
  parser: z.looseObject({}).optional(),
});
export type EndpointPickerConfig = z.output<typeof endpointPickerConfig>;

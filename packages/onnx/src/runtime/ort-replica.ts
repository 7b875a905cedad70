/**
 * The replica module of onnxruntime training: a host-gradient worker thread
 * of @farmer/train imports it by path and builds its own gradient session
 * from an {@link OrtReplicaSpec} (so @farmer/train needs no engine package).
 */
import { ortHostGradient, type OrtReplicaSpec } from './ort-host-gradients.js';

export function createHostReplica(spec: unknown) {
  return ortHostGradient(spec as OrtReplicaSpec);
}

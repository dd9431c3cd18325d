// Whether an engine keeps its images in containerd (the "containerd image store"), from `docker info`: its
// DriverStatus then carries ["driver-type", "io.containerd.snapshotter.v1"]. Only that store holds multi-platform
// images and lets the docker buildx driver export every cache type.

/** True / false from `docker info`'s DriverStatus; undefined when the answer does not say (no DriverStatus). */
export function containerdImageStoreOf(driverStatus: unknown): boolean | undefined {
  if (!Array.isArray(driverStatus)) return undefined;
  return driverStatus.some(
    (pair) =>
      Array.isArray(pair) &&
      pair.some((part) => typeof part === 'string' && part.startsWith('io.containerd.snapshotter')),
  );
}

import { enrollmentDeviceEvent } from '@meterkeep/contracts';

/** The contracts' rule for endpoint names (a factory certificate's CN). */
export const endpointNameSchema = enrollmentDeviceEvent.shape.deviceId;

export function isEndpointName(value: string | undefined): value is string {
  return value !== undefined && endpointNameSchema.safeParse(value).success;
}

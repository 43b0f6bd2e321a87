/** The release consumer's group on telemetry.readings.v1: the live readings indexer is where it is. */
export const RELEASE_GROUP = 'privacy-release';

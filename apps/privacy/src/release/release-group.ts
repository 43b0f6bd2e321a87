/** The release consumer's group on telemetry.readings.v1: the live readings indexer is where it is. */
export const RELEASE_GROUP = 'privacy-release';
/**
 * Where the release group starts on a partition it has no committed offset for: the earliest record
 * (EventConsumer's fromBeginning). The readings backfill leaves such a partition to it whole.
 */
export const RELEASE_FROM_BEGINNING = true;

import { Module } from '@nestjs/common';
import { CampaignJoiners } from './campaign-joiners';
import { CampaignStatusFeed } from './campaign-status-feed';
import { CampaignsRepository } from './campaigns.repository';
import { TestPausePoints } from './test-pause-points';

/**
 * What the device side needs of campaigns: the counters' reader, the halt on every status, and the
 * dynamic campaigns' joiners on every registry change.
 */
@Module({
  providers: [CampaignsRepository, CampaignStatusFeed, CampaignJoiners, TestPausePoints],
  exports: [CampaignsRepository, CampaignStatusFeed, CampaignJoiners, TestPausePoints],
})
export class CampaignProgressModule {}

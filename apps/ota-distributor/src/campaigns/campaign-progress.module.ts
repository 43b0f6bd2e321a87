import { Module } from '@nestjs/common';
import { CampaignStatusFeed } from './campaign-status-feed';
import { CampaignsRepository } from './campaigns.repository';
import { TestPausePoints } from './test-pause-points';

/** What the device side needs of campaigns: the counters' reader and the halt on every status. */
@Module({
  providers: [CampaignsRepository, CampaignStatusFeed, TestPausePoints],
  exports: [CampaignsRepository, CampaignStatusFeed, TestPausePoints],
})
export class CampaignProgressModule {}

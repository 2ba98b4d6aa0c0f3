import { defineConfig } from '@defstate/core';
import { featureFlags } from './src/components/feature-flags.js';
import { services } from './src/components/services.js';
import { warehouseCatalog } from './src/components/warehouse-catalog.js';

export default defineConfig({
  components: [services, warehouseCatalog, featureFlags],
});

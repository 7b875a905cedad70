import { FarmerError, type ImageDataset } from '@farmer/core';
import type { Objective, ObjectiveTypes } from './objective.js';

/** Refuses data whose image size or class count does not fit the objective's model. */
export function checkData(o: { dataFit: Objective<ObjectiveTypes>['dataFit'] }, ds: ImageDataset, what: string): void {
  const f = o.dataFit;
  const im = ds.images;
  if (im.channels !== f.channels || im.height !== f.size || im.width !== f.size) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `the ${what} data (${ds.name}) are ${im.height}×${im.width}×${im.channels} but the ${f.subject} takes ${f.size}×${f.size}×${f.channels}; ${f.hint}`, {
      field: 'data',
    });
  }
  if (f.numClasses > 0 && ds.numClasses > f.numClasses) {
    throw new FarmerError('FARMER_E_BAD_INPUT', `the ${what} data have ${ds.numClasses} classes but the ${f.subject} has ${f.numClasses}`, { field: 'data' });
  }
}

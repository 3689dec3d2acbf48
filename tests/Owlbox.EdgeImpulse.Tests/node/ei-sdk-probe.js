// Drives the emulator with Edge Impulse's own Node SDK (npm edge-impulse-api): list, get, set boxes, metadata and
// proposed changes, and a non-integer box that must be refused as Studio's strict clients expect. Prints one JSON line.
const { EdgeImpulseApi } = require('edge-impulse-api');
(async () => {
  const api = new EdgeImpulseApi({ endpoint: process.env.EI_API_ENDPOINT });
  await api.authenticate({ method: 'apiKey', apiKey: process.env.EI_PROJECT_API_KEY });
  const projects = await api.projects.listProjects();
  const pid = projects.projects[0].id;
  const list = await api.rawData.listSamples(pid, { category: 'training', limit: 100, offset: 0 });
  const s = await api.rawData.getSample(pid, list.samples[0].id);
  await api.rawData.setSampleBoundingBoxes(pid, s.sample.id, { boundingBoxes: [{ label: 'node', x: 1, y: 2, width: 3, height: 4 }] });
  await api.rawData.setSampleMetadata(pid, s.sample.id, { metadata: { from: 'node' } });
  await api.rawData.setSampleProposedChanges(pid, s.sample.id, { jobId: 5, proposedChanges: { boundingBoxes: [], metadata: { a: 'b' } } });
  let refused = 'no';
  try { await api.rawData.setSampleBoundingBoxes(pid, s.sample.id, { boundingBoxes: [{ label: 'x', x: 1.5, y: 2, width: 3, height: 4 }] }); }
  catch (e) { refused = String(e.message || e); }
  const again = await api.rawData.getSample(pid, s.sample.id);
  console.log(JSON.stringify({ pid, count: list.samples.length, total: list.totalCount, boxes: again.sample.boundingBoxes, metadata: again.sample.metadata, refused }));
})().catch(e => { console.error('FAILED', e && (e.message || e)); process.exit(1); });

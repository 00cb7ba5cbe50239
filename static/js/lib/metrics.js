// Training records of the served models, fetched once per page: metrics logs and learning-rate schedules.
import { getJSON } from "./api.js";

const cache = new Map(); // URL → promise of its JSON, or of null where the server has none
const getJSONOrNull = (url) => {
  if (!cache.has(url))
    cache.set(
      url,
      getJSON(url).catch(() => null),
    );
  return cache.get(url);
};

// The model's validation loss, from one source on every page: its card's validation split measured whole
// after shipping (card.validation.loss; older cards: val_loss). The metrics log's last evaluation on fixed
// batches is another, slightly different number, and pages that show it say "at the last evaluation".
export const cardValidationLoss = (card) => card?.validation?.loss ?? card?.val_loss;

// One model's metrics log ({records: [{step, train_loss, val_loss, …}]}), or null where none is shipped
// (a model whose page data says `metrics: false`, a folder dropped in without a training log, is not asked).
export const loadMetrics = (m) =>
  m.metrics === false
    ? Promise.resolve(null)
    : getJSONOrNull(`/api/models/${encodeURIComponent(m.name)}/metrics`);

// One model's learning-rate schedule ({steps, lrs, lr, warmup, …}), or null.
export const loadSchedule = (name) => getJSONOrNull(`/api/models/${encodeURIComponent(name)}/schedule`);

// Every served language model's metrics log (records null where none is shipped): [{model, records}].
// Task models (numbers to words) train on another loss, so their curves would not compare.
export async function loadMetricsLogs(models) {
  const lms = models.filter((m) => (m.task ?? m.card?.task ?? "lm") === "lm" && m.architecture !== "encoder");
  const logs = await Promise.all(lms.map((m) => loadMetrics(m)));
  return lms.map((m, i) => ({ model: m, records: logs[i]?.records || null }));
}

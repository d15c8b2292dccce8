// Strings of the warehouse governance cards (evaluation, gate, canary, shadow runs).
import { addStrings } from '../i18n.js';

addStrings({
  gov_evaluation: ['评测集得分', 'Evaluation scores'], gov_vs: ['对比已发布版本 {0}', 'against the published {0}'], gov_no_published: ['尚无已发布版本可对比', 'no published version to compare with'],
  gov_set: ['评测集', 'set'], gov_metric: ['指标', 'metric'], gov_this: ['本版本', 'this version'], gov_published: ['已发布版本', 'published'], gov_delta: ['差值(百分点)', 'difference (points)'],
  gov_no_sets: ['还没有适用于该任务类型的评测集（见 docs/evaluation-sets.md）。', 'No evaluation set applies to this task yet (see docs/evaluation-sets.md).'],
  gov_set_queued: ['排队中', 'queued'], gov_set_running: ['评测中', 'scoring'], gov_set_done: ['完成', 'done'], gov_set_failed: ['失败', 'failed'],
  gov_gate: ['回归门禁', 'Regression gate'], gov_gate_pass: ['通过', 'passes'], gov_gate_blocked: ['拦截', 'blocked'], gov_gate_none: ['未设置门禁', 'no gate set'],
  gov_gate_rule: ['主指标下降不超过 {0} 个百分点（{1}）', 'primary measure may drop at most {0} points ({1})'], gov_gate_general: ['通用门禁', 'general gate'],
  gov_override: ['强制发布原因', 'override reason'], gov_override_hint: ['门禁拦截时发布需说明原因，记入审计日志', 'publishing a blocked version needs a reason, kept in the audit log'],
  gov_publish_override: ['说明原因并发布', 'Publish with this reason'], gov_rescore: ['重新评测', 'Score again'],
  gov_canary: ['灰度发布', 'Canary'], gov_no_canary: ['该模型还没有灰度发布。', 'This model has had no canary.'],
  gov_canary_running: ['灰度中', 'running'], gov_canary_promoted: ['已全量发布', 'promoted'], gov_canary_rolled_back: ['已回滚', 'rolled back'], gov_canary_stopped: ['已停止', 'stopped'],
  gov_step: ['步骤', 'step'], gov_step_of: ['第 {0}/{1} 步', 'step {0} of {1}'], gov_share: ['份额', 'share'], gov_share_v: ['其他任务的 {0}%', '{0}% of the other tasks'],
  gov_canary_cameras: ['先行摄像机', 'cameras first'], gov_limits: ['阈值', 'limits'], gov_limits_v: ['错误率 ≤ {0}，延迟 ≤ {1} ms', 'error rate ≤ {0}, latency ≤ {1} ms'], gov_limits_nolat: ['错误率 ≤ {0}，延迟不限', 'error rate ≤ {0}, no latency limit'],
  gov_canary_version: ['灰度版本', 'version'], gov_ended_reason: ['结束原因', 'why it ended'], gov_canary_tasks: ['灰度任务', 'tasks in it'],
  gov_stop: ['停止灰度', 'Stop canary'], gov_stop_reason: ['停止原因', 'reason for stopping'],
  gov_shadow: ['影子运行', 'Shadow runs'], gov_no_shadow: ['还没有影子运行。', 'No shadow run yet.'], gov_shadow_state_running: ['运行中', 'running'], gov_shadow_state_done: ['已完成', 'done'], gov_shadow_state_stopped: ['已停止', 'stopped'],
  gov_agreement: ['一致率', 'agreement'], gov_matched: ['一致', 'matched'], gov_extra: ['多检', 'extra'], gov_missed: ['漏检', 'missed'],
  gov_latency: ['每帧延迟 ms（已发布/本版本）', 'latency ms per frame (published / this)'], gov_cost: ['每帧算力 ms（已发布/本版本）', 'cost ms per frame (published / this)'],
  gov_errors: ['本版本错误', 'errors'], gov_streams: ['视频流', 'streams'],
});

// Strings of the dispositions (布控) pages, Chinese first.
import { addStrings } from '../i18n.js';

addStrings({
  nav_dispositions: ['布控', 'Watch lists'],
  disp_new: ['新建布控', 'New watch list'], disp_create: ['提交布控', 'Set watch list'], disp_title: ['布控名称', 'title'],
  disp_category: ['布控类别', 'category'], disp_cat_plate: ['车辆（车牌）', 'vehicle (plate)'], disp_cat_face: ['人员（人脸）', 'person (face)'],
  disp_plates: ['车牌号', 'plates'], disp_plates_hint: ['每行或以逗号分隔一个车牌；模糊匹配可用 * 与 ?，并容许一个字符误识、缺失或多出', 'one per line or comma; fuzzy takes * and ?, and one character misread, missing or extra'],
  disp_match: ['匹配方式', 'match'], disp_match_exact: ['精确', 'exact'], disp_match_fuzzy: ['模糊', 'fuzzy'],
  disp_faces: ['人脸照片', 'face photos'], disp_faces_hint: ['每张一人，JPEG 或 PNG，合计不超过 1 MiB', 'one face each, JPEG or PNG, 1 MiB in all'],
  disp_threshold: ['相似度阈值', 'similarity threshold'], disp_threshold_hint: ['0–1，默认 0.75；越高越严格', '0–1, default 0.75; higher is stricter'],
  disp_devices: ['布控摄像机', 'cameras'], disp_devices_hint: ['可多选；摄像机与辖区都不选表示本部门可见的全部摄像机', 'pick any; no camera and no area: every camera your department sees'],
  disp_areas: ['布控辖区', 'areas'], disp_areas_hint: ['6位行政区划代码，逗号分隔，须在本部门辖区内', '6-digit GB/T 2260 codes, comma separated, inside your department\'s'],
  disp_begin: ['开始时间', 'begins'], disp_begin_hint: ['留空为现在', 'empty: now'], disp_end: ['结束时间', 'ends'], disp_end_hint: ['最长 366 天', 'at most 366 days'],
  disp_reason: ['布控事由', 'reason'], disp_reason_hint: ['将记入审计日志', 'recorded in the audit log'],
  disp_priority: ['优先级', 'priority'], disp_priority_1: ['一级（最高）', '1 (highest)'], disp_priority_2: ['二级', '2'], disp_priority_3: ['三级', '3'],
  disp_state: ['状态', 'state'], disp_in_force: ['布控中', 'in force'], disp_scheduled: ['未开始', 'not begun'], disp_ended: ['已到期', 'ended'], disp_withdrawn: ['已撤控', 'withdrawn'],
  disp_hits: ['命中', 'hits'], disp_hit_count: ['命中数', 'hits'], disp_targets: ['布控目标', 'Targets'], disp_scope: ['布控范围', 'scope'],
  disp_scope_all: ['本部门可见的全部摄像机', 'every camera your department sees'],
  disp_none: ['还没有布控：点击“新建布控”设置车牌或人脸布控。', 'No watch lists yet: click "New watch list" to watch plates or faces.'],
  disp_no_hits: ['还没有命中：布控目标被抓拍到后将出现在这里，并在民情地图上告警。', 'No hits yet: they show here, and alarm on the map, when a target is captured.'],
  disp_capture: ['抓拍图', 'capture'], disp_watched: ['布控图', 'watched'], disp_record: ['记录', 'record'],
  disp_withdraw: ['撤控', 'Withdraw'], disp_withdraw_reason: ['撤控原因', 'reason for withdrawing'],
  disp_withdrawn_by: ['{0} 于 {1} 撤控：{2}', 'withdrawn by {0} at {1}: {2}'], disp_applicant: ['布控人', 'set by'],
  disp_choose_faces: ['请选择至少一张人脸照片', 'choose at least one face photo'],
});

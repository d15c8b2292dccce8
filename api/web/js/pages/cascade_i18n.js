// Strings of the cascade links page (级联), Chinese first.
import { addStrings } from '../i18n.js';

addStrings({
  nav_cascade: ['级联', 'Cascade'],
  cas_links: ['上级视图库', 'Superior view libraries'], cas_none: ['还没有级联：在右侧添加上级视图库的地址与本平台在上级的编码。', 'No cascade links yet: add a superior\'s address and this library\'s ID there on the right.'],
  cas_new: ['添加上级视图库', 'Add a superior'], cas_create: ['添加', 'Add'],
  cas_url: ['上级地址', 'superior URL'], cas_url_hint: ['如 http://10.1.2.3:8080（…/VIID 会自动补上）；内网地址需管理员在 outbound_allow 中允许', 'such as http://10.1.2.3:8080 (…/VIID is added); internal addresses only where outbound_allow admits them'],
  cas_device_id: ['本平台在上级的编码', 'our ID at the superior'], cas_device_id_hint: ['20位视图库编码', 'the 20-digit view library ID'],
  cas_username: ['用户名', 'username'], cas_password: ['密码', 'password'],
  cas_types: ['上报类型', 'record types'], cas_types_hint: ['都不选表示全部', 'none: all'],
  cas_areas: ['上报辖区', 'areas'], cas_areas_hint: ['6位行政区划代码，逗号分隔；留空为全部', '6-digit codes, comma separated; empty: all'],
  cas_keepalive: ['保活间隔(秒)', 'keepalive (s)'],
  cas_status: ['状态', 'status'], cas_registered: ['已注册', 'registered'], cas_unregistered: ['未注册', 'not registered'], cas_paused: ['已暂停', 'paused'],
  cas_pushed: ['已上报', 'pushed'], cas_pushed_v: ['{0} 条（更新 {1}，被拒 {2}）', '{0} objects ({1} updates, {2} refused)'],
  cas_pending: ['待上报批次', 'pending batches'], cas_last_error: ['最近错误', 'last error'], cas_keepalive_at: ['最近保活', 'last keepalive'],
  cas_next_try: ['下次重试', 'next try'], cas_pause: ['暂停', 'Pause'], cas_resume: ['恢复', 'Resume'], cas_delete: ['删除', 'Delete'],
  cas_other_server: ['级联由调度主节点运行，本节点显示的状态可能不是最新', 'the scheduler leader runs the links; this server\'s status may lag'],
});

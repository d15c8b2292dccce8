// Strings: Chinese by default, English on request (kept in localStorage).
// t(key, ...args): {0}, {1} … are replaced by args; an unknown key (an algorithm or
// alert kind added later) shows args[0], its raw name, or the key itself.
const S = {
  locale: ['zh-CN', 'en-GB'],
  console: ['视频分析平台控制台', 'video analysis console'],
  login: ['登录', 'Log in'], logout: ['退出', 'Log out'],
  login_intro: ['请输入管理员为您签发的访问令牌。', 'Enter the access token your administrator issued to you.'],
  token: ['访问令牌', 'Access token'], token_placeholder: ['粘贴令牌', 'paste the token'],
  token_hint: ['首次启动时平台管理员的令牌在数据目录的 admin.token 中；其他用户的令牌由管理员在“用户与令牌”页签发。', 'The platform admin\'s token is in admin.token in the data folder after the first start; admins issue other users\' tokens on the Users & tokens page.'],
  no_pages: ['您的角色没有可用的页面。', 'Your role has no pages here.'],
  nav_overview: ['总览', 'Overview'], nav_cameras: ['摄像机', 'Cameras'], nav_tasks: ['分析任务', 'Tasks'],
  nav_captures: ['抓拍检索', 'Captures'], nav_map: ['民情地图', 'Alerts map'], nav_warehouse: ['算法仓库', 'Warehouse'], nav_admin: ['用户与令牌', 'Users & tokens'],
  role_platform_admin: ['平台管理员', 'platform admin'], role_dept_admin: ['部门管理员', 'department admin'], role_operator: ['操作员', 'operator'],
  role_analyst: ['分析员', 'analyst'], role_vendor: ['算法厂商', 'vendor'], role_subscriber: ['订阅者', 'subscriber'], role_worker: ['分析节点', 'worker'],
  // overview
  cameras_total: ['摄像机总数', 'Cameras'], cameras_online: ['在线', 'Online'], online_rate: ['在线率', 'Online rate'], online_rate_today: ['今日在线率', 'Online today'], online_rate_7d: ['7日在线率', 'Online, 7 days'], tasks_total: ['任务总数', 'Tasks'],
  state_running: ['运行中', 'running'], state_degraded: ['降级', 'degraded'], state_rotated: ['轮巡', 'rotated'], state_refused: ['拒绝', 'refused'],
  state_disabled: ['已停用', 'disabled'], state_pending: ['待调度', 'pending'],
  tasks_attention: ['需关注的任务', 'Tasks needing attention'], all_tasks_running: ['所有任务均按请求帧率运行。', 'Every task runs at its requested rate.'],
  algorithms_in_use: ['在用算法', 'Algorithms in use'], outputs: ['输出', 'outputs'],
  records_per_hour: ['每小时抓拍数（近12小时）', 'Captures per hour (last 12 h)'], alerts_per_hour: ['每小时告警数（近12小时）', 'Alerts per hour (last 12 h)'],
  over_limit: ['仅统计最近 {0} 条', 'counts the latest {0} only'],
  capacity_load: ['算力与负载', 'Capacity and load'], embedded_mode: ['单机模式：本进程完成全部解码与推理，下表为各模型的批处理负载。', 'Embedded mode: this process decodes and infers everything; the table is each model\'s batching load.'],
  worker: ['节点', 'worker'], alive: ['在线', 'alive'], cores: ['CPU核', 'cores'], gpus: ['GPU', 'GPUs'], capacity_fps: ['容量(帧/秒)', 'capacity fps'], load: ['负载', 'load'],
  device: ['设备', 'device'], frames: ['帧数', 'frames'], mean_batch: ['平均批大小', 'mean batch'], busy_s: ['忙碌(秒)', 'busy s'], queue_wait_s: ['排队(秒)', 'queue wait s'],
  decode_fps: ['各路解码帧率', 'Decode fps per camera'],
  quota_use: ['部门配额使用', 'Departments\' quota use'], fps_share: ['算力份额', 'fps share'], no_departments: ['还没有部门。', 'No departments yet.'],
  // cameras
  name: ['名称', 'name'], device_id: ['设备编码', 'device ID'], area: ['行政区划', 'area'], owner: ['所属部门', 'owner'], sharing: ['共享', 'sharing'],
  sharing_0: ['有条件共享', 'conditional'], sharing_1: ['无条件共享', 'unconditional'], sharing_2: ['不共享', 'not shared'],
  stream: ['视频流', 'stream'], stream_online: ['在线', 'online'], stream_offline: ['离线', 'offline'], stream_starting: ['连接中', 'starting'], stream_error: ['错误', 'error'], stream_idle: ['未接入', 'idle'],
  fps_in: ['输入帧率', 'fps in'], tasks: ['任务', 'tasks'], any: ['全部', 'any'],
  no_cameras_filter: ['没有符合筛选条件的摄像机，请放宽条件。', 'No camera matches: loosen the filters.'],
  no_cameras_register: ['还没有摄像机：点击“注册摄像机”接入第一路视频。', 'No cameras yet: click "Register camera" to add the first stream.'],
  no_cameras_visible: ['您的部门还看不到任何摄像机：请部门管理员注册或申请共享。', 'Your department sees no cameras yet: ask your admin to register one or apply for a shared one.'],
  new_camera: ['注册摄像机', 'Register camera'], register_camera: ['注册', 'Register'], stream_url: ['视频地址', 'stream URL'],
  device_id_hint: ['GB/T 28181 的20位编码，类型码131/132为摄像机', 'the 20-digit GB/T 28181 ID; type 131/132 is a camera'],
  longitude: ['经度', 'longitude'], latitude: ['纬度', 'latitude'], point_type: ['点位类型', 'point type'],
  point_1: ['一类点（重点公共区域）', 'key public area'], point_2: ['二类点（重点行业）', 'key industry'], point_3: ['三类点（一般）', 'general'],
  latest_frame: ['最新画面', 'Latest frame'], catalogue: ['目录信息', 'Catalogue'], position: ['坐标', 'position'], your_access: ['本部门权限', 'your access'],
  access_none: ['无', 'none'], right_analyse: ['分析', 'analyse'], right_records: ['结构化数据', 'records'], right_snapshots: ['抓拍图片', 'snapshots'],
  stream_status: ['视频流状态', 'Stream status'], since: ['状态开始', 'since'], last_frame: ['最后一帧', 'last frame'], resolution: ['分辨率', 'resolution'],
  reconnects: ['重连次数', 'reconnects'], loops: ['循环次数', 'loops'], no_tasks_camera: ['此摄像机上还没有分析任务。', 'No task on this camera yet.'],
  frame_from: ['抓拍于 {0} 的场景图', 'scene image captured {0}'], frame_live: ['实时画面，{0}', 'live frame, {0}'], frame_keyframe: ['按需抓取的关键帧，{0}', 'key frame grabbed on request, {0}'], frame_none: ['暂无画面：摄像机未提供画面（离线，或其地址不在服务器的 outbound_allow 中），也还没有抓拍。', 'No picture: the camera gave none (offline, or its address is not in the server\'s outbound_allow) and nothing was captured yet.'],
  apply_title: ['申请使用此摄像机', 'Apply to use this camera'], apply_hint: ['这是其他部门的有条件共享摄像机：所属部门管理员将在72小时内审批。', 'This conditional camera belongs to another department: its admin decides within 72 h.'],
  rights: ['权限', 'rights'], algorithms: ['算法', 'algorithms'], algorithms_any: ['留空表示任意算法', 'empty: any algorithm'],
  starts_at: ['开始', 'starts'], ends_at: ['结束', 'ends'], apply: ['提交申请', 'Apply'], applied: ['已提交，审批截止 {0}', 'Applied; decision due by {0}'],
  inbox: ['共享申请', 'Sharing applications'], applicant: ['申请部门', 'applicant'], period: ['期限', 'period'], deadline: ['审批截止', 'deadline'],
  approve: ['批准', 'Approve'], reject: ['驳回', 'Reject'], no_applications: ['没有共享申请。', 'No applications.'],
  app_pending: ['待审批', 'pending'], app_approved: ['已批准', 'approved'], app_rejected: ['已驳回', 'rejected'], app_expired: ['已过期', 'expired'], app_withdrawn: ['已撤回', 'withdrawn'], app_ended: ['已结束', 'ended'],
  // tasks
  task: ['任务', 'task'], camera: ['摄像机', 'camera'], algorithm: ['算法', 'algorithm'], department: ['部门', 'department'], fps: ['帧率', 'fps'],
  state: ['状态', 'state'], reason: ['原因', 'reason'], new_task: ['新建任务', 'New task'], create_task: ['创建任务', 'Create task'],
  no_tasks_yet: ['还没有分析任务。', 'No tasks yet.'], no_tasks_create: ['还没有分析任务：点击“新建任务”，选择摄像机与算法并画出检测区域。', 'No tasks yet: click "New task", pick a camera and an algorithm and draw the region.'],
  disabled_by_user: ['已停用', 'disabled'], params: ['参数', 'params'], grant: ['调度授予', 'Grant'], requested_fps: ['请求帧率', 'requested fps'], granted_fps: ['授予帧率', 'granted fps'],
  degraded: ['降级', 'degraded'], yes: ['是', 'yes'], no: ['否', 'no'], latest_captures: ['最新抓拍', 'Latest captures'],
  no_captures_yet: ['还没有抓拍：任务运行并检测到目标后会出现在这里。', 'No captures yet: they appear here once the task sees something.'],
  delete: ['删除', 'Delete'], confirm_delete: ['确定删除？', 'Delete it?'], sample_fps: ['分析帧率', 'sample fps'],
  options: ['算法选项(JSON)', 'options (JSON)'], options_hint: ['可选：所选算法自己的参数，框内灰字为示例', 'optional: the chosen algorithm\'s own parameters; the grey text is an example'],
  no_options: ['该算法没有选项', 'this algorithm takes no options'],
  options_json: ['算法选项必须是 JSON 对象', 'options must be a JSON object'], regions: ['检测区域', 'regions'],
  draw_roi: ['感兴趣区域', 'ROI'], draw_zone: ['告警区域', 'Zone'], draw_line: ['绊线', 'Tripwire'], draw_close: ['闭合多边形', 'Close polygon'], draw_clear: ['清除', 'Clear'],
  draw_hint: ['在画面上单击加点，双击或“闭合多边形”结束；绊线点两下。不画则分析整幅画面。', 'Click to add points, double-click or "Close polygon" to finish; a tripwire takes two clicks. Nothing drawn: the whole frame.'],
  no_frame_yet: ['暂无画面：摄像机未能提供画面，请按归一化坐标绘制', 'No frame: the camera gave none; draw in normalised coordinates'],
  // captures
  from: ['开始时间', 'from'], to: ['结束时间', 'to'], type: ['类型', 'type'], plate: ['车牌', 'plate'], plate_part: ['车牌片段', 'plate part'], vehicle_color: ['车身颜色', 'vehicle colour'],
  search: ['检索', 'Search'], export: ['导出', 'Export'], prev: ['上一页', 'Previous'], next: ['下一页', 'Next'], page_n: ['第 {0} 页', 'page {0}'],
  no_captures_search: ['没有符合条件的抓拍：放宽时间范围或去掉筛选条件。', 'No capture matches: widen the time window or drop a filter.'],
  scene: ['场景图', 'Scene'], details: ['详情', 'Details'], shot_time: ['抓拍时间', 'shot time'], score: ['置信度', 'score'], no_image: ['无图片', 'no image'],
  watermarked: ['图片带有您的账号水印，查看已记入审计日志。', 'Images carry a watermark naming you; every view is audited.'],
  back: ['返回', 'Back'], face_search: ['以图搜人脸', 'Face search by photo'], photo: ['照片', 'photo'], choose_photo: ['请选择一张人脸照片', 'choose a photo with a face'],
  no_face_match: ['没有相似的人脸。', 'No similar face.'], image_unavailable: ['图片不可用', 'image unavailable'],
  // map
  level_1: ['一般', 'low'], level_2: ['较重', 'medium'], level_3: ['严重', 'high'], connecting: ['连接中…', 'connecting…'], live: ['实时', 'live'], disconnected: ['已断开', 'disconnected'],
  alert_detail: ['告警详情', 'Alert'], recent_alerts: ['最近告警', 'Recent alerts'], map_click: ['点击地图上的告警查看抓拍与详情。', 'Click an alert on the map for its snapshot and details.'],
  no_alerts: ['还没有告警：告警类任务（如火情、明厨亮灶）触发后将实时出现在地图上。', 'No alerts yet: alerting tasks (fire, kitchen …) show here live when they fire.'],
  kind: ['类型', 'kind'], level: ['等级', 'level'], time: ['时间', 'time'], zone: ['区域', 'zone'],
  ack: ['确认', 'Acknowledge'], acked: ['已确认', 'acknowledged'], not_acked: ['未确认', 'not acknowledged'],
  // kind_<kind>: one table for record types and alert kinds (kindName); algorithms' outputs use both
  kind_Face: ['人脸', 'Face'], kind_Person: ['人员', 'Person'], kind_MotorVehicle: ['机动车', 'Motor vehicle'], kind_NonMotorVehicle: ['非机动车', 'Non-motor vehicle'],
  kind_Thing: ['物品', 'Thing'], kind_Scene: ['场景', 'Scene'],
  'kind_fire.fire': ['明火', 'fire'], 'kind_fire.smoke': ['烟雾', 'smoke'], 'kind_kitchen.no_hat': ['未戴帽', 'no hat'], 'kind_kitchen.rat': ['老鼠', 'rat'],
  'kind_kitchen.garbage_overflow': ['垃圾满溢', 'garbage overflow'], 'kind_water.level': ['积水', 'water level'],
  'kind_disposition.plate': ['车牌布控告警', 'watched plate'], 'kind_disposition.face': ['人脸布控告警', 'watched face'],
  'kind_flow.crowding': ['人群聚集', 'crowding'], 'kind_water_level_cm': ['水位(厘米)', 'water level (cm)'],
  'kind_quality.black': ['黑屏', 'black'], 'kind_quality.overexposed': ['过曝', 'overexposed'], 'kind_quality.covered': ['遮挡', 'covered'],
  'kind_quality.frozen': ['画面冻结', 'frozen'], 'kind_quality.blurred': ['模糊', 'blurred'], 'kind_quality.colour_cast': ['偏色', 'colour cast'],
  'kind_quality.noisy': ['噪声', 'noisy'], 'kind_quality.scene_changed': ['场景变更', 'scene changed'], 'kind_quality.recovered': ['画面恢复', 'recovered'],
  'kind_quality.signal_lost': ['信号丢失', 'signal lost'], 'kind_quality.brightness': ['亮度', 'brightness'], 'kind_quality.sharpness': ['清晰度', 'sharpness'],
  'kind_quality.noise': ['噪声水平', 'noise'], 'kind_quality.motion': ['运动量', 'motion'], 'kind_quality.similarity': ['场景相似度', 'similarity'],
  'kind_crossings.<line>.<dir>': ['绊线穿越计数', 'tripwire crossings'], 'kind_people.<zone>': ['区域人数', 'people per zone'], 'kind_density.<zone>': ['区域密度', 'density per zone'],
  'kind_<options.rules[].kind>': ['规则定义的告警', 'alerts named by the rules'], 'kind_<model>.<label>': ['模型标签', 'model labels'],
  // alg_<name> and algsum_<name>: from the registry at sign-in (addAlgorithms)
  // warehouse
  model: ['模型', 'model'], model_task: ['任务类型', 'task'], progress: ['进度', 'progress'], size: ['大小', 'size'], uploaded: ['上传', 'uploaded'], used_by: ['使用中的任务', 'used by tasks'],
  model_versions: ['模型版本', 'Model versions'], no_models: ['仓库里还没有模型。', 'No models in the warehouse yet.'],
  no_models_upload: ['仓库里还没有模型：在上方上传第一个模型包。', 'No models yet: upload the first package above.'],
  model_uploaded: ['已上传', 'uploaded'], model_validating: ['验证中', 'validating'], model_validated: ['已验证', 'validated'], model_rejected: ['未通过', 'rejected'],
  model_published: ['已发布', 'published'], model_deprecated: ['已弃用', 'deprecated'],
  upload_model: ['上传模型包', 'Upload a model package'], manifest: ['清单 (manifest.json)', 'manifest (JSON)'], manifest_hint: ['见 docs/model-manifest.md', 'see docs/model-manifest.md'],
  onnx_file: ['ONNX 模型文件', 'ONNX file'], extra_files: ['附加文件', 'extra files'], extra_files_hint: ['清单 files 中列出的字典、样例图片', 'dictionary, sample images named in manifest.files'],
  upload: ['上传', 'Upload'], validation: ['验证与基准测试', 'Validation and benchmark'], report_passed: ['验证通过', 'passed'], report_failed: ['验证未通过', 'failed'],
  report_pending: ['报告将在验证结束后显示。', 'The report appears when validation ends.'], check: ['检查项', 'check'], check_load: ['模型加载', 'load'], check_samples: ['样例图片', 'samples'], check_benchmark: ['基准测试', 'benchmark'], result: ['结果', 'result'], detail: ['说明', 'detail'],
  benchmark: ['基准测试', 'Benchmark'], batch: ['批大小', 'batch'], latency_ms: ['延迟(ms)', 'latency ms'], p95_ms: ['P95(ms)', 'p95 ms'], fps_per_core: ['每核帧率', 'fps per core'],
  publish: ['发布', 'Publish'], request_publish: ['申请发布', 'Request publishing'], reject_reason: ['驳回原因', 'reason for rejecting'],
  publish_requested: ['{0} 于 {1} 申请发布，待平台审批', 'publishing requested by {0} at {1}, awaiting approval'], awaiting_approval: ['待审批发布', 'awaiting approval'], rollback: ['回滚', 'Roll back'], deprecate: ['弃用', 'Deprecate'],
  // admin
  users: ['用户', 'Users'], user: ['用户', 'user'], role: ['角色', 'role'], created: ['创建时间', 'created'], disabled: ['已停用', 'disabled'],
  issue_token: ['签发令牌', 'Issue token'], token_once: ['{0} 的新令牌（只显示这一次，请立即交给用户）：', 'New token for {0} (shown once: hand it over now):'],
  no_users: ['还没有用户：在右侧创建。', 'No users yet: create one on the right.'],
  new_user: ['新建用户', 'New user'], user_id: ['用户ID', 'user ID'], create_user: ['创建用户', 'Create user'],
  new_department: ['新建部门', 'New department'], dept_id: ['部门ID', 'department ID'], areas: ['辖区（行政区划代码）', 'areas (GB/T 2260 codes)'],
  quota_streams: ['路数配额', 'stream quota'], quota_tasks: ['任务配额', 'task quota'], create_department: ['创建部门', 'Create department'],
  streams: ['视频路数', 'streams'], choose_file: ['选择文件', 'Choose file'], now: ['现在', 'now'], no_file: ['未选择文件', 'no file chosen'],
};

let cur = localStorage.getItem('cityeye.lang') === 'en' ? 'en' : 'zh';

export function lang() { return cur; }
export function setLang(l) { cur = l; localStorage.setItem('cityeye.lang', l); }

export function t(key, ...args) {
  const e = S[key];
  if (!e) return args.length ? String(args[0]) : key;
  let s = e[cur === 'zh' ? 0 : 1];
  args.forEach((a, i) => { s = s.replace('{' + i + '}', a); });
  return s;
}

// addAlgorithms takes each registered algorithm's names and summaries from
// GET /api/v1/algorithms, so the registry is their one source in both languages.
export function addAlgorithms(list) {
  for (const a of list || []) {
    S['alg_' + a.name] = [a.title_zh || a.name, a.title || a.name];
    S['algsum_' + a.name] = [a.summary_zh || a.summary || '', a.summary || ''];
  }
}

// addStrings lets a page module keep its own strings beside it ({key: [zh, en]}),
// so pages added later do not all edit this table.
export function addStrings(table) { Object.assign(S, table); }

export function roleName(r) { return t('role_' + r, r); }

// kindName labels a record type (Person, MotorVehicle …) or an alert kind (fire.smoke …);
// a kind added later shows its raw name.
export function kindName(k) { return t('kind_' + k, k); }

// Department names: the caller's own from /me and, for admins, all of them from
// GET /api/v1/departments (addDepartments at sign-in); others show their ID.
const depts = {};
export function addDepartments(list) { for (const d of list || []) if (d && d.id) depts[d.id] = d.name || d.id; }
export function deptName(id) { return depts[id] || id || '—'; }

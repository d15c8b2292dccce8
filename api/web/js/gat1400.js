// GA/T 1400 object fields of a capture, labelled for people: each field's name in
// both languages and its coded values (flags, colours, gender, InfoKind) decoded.
// A field not listed here shows its GA/T 1400 name and raw value.
import { lang } from './i18n.js';
import { fmtTime } from './ui.js';

const FLAG = { 0: ['否', 'no'], 1: ['是', 'yes'], 2: ['不确定', 'uncertain'] };
const COLOR = {
  1: ['黑', 'black'], 2: ['白', 'white'], 3: ['灰', 'grey'], 4: ['红', 'red'], 5: ['蓝', 'blue'], 6: ['黄', 'yellow'],
  7: ['橙', 'orange'], 8: ['棕', 'brown'], 9: ['绿', 'green'], 10: ['紫', 'purple'], 11: ['青', 'cyan'], 12: ['粉', 'pink'],
  13: ['透明', 'transparent'], 99: ['其他', 'other'],
};
const INFO_KIND = { 0: ['其他', 'other'], 1: ['自动采集', 'automatic'], 2: ['人工采集', 'manual'] };
const GENDER = { 0: ['未知', 'unknown'], 1: ['男', 'male'], 2: ['女', 'female'], 9: ['未说明', 'unstated'] };
const DEPTH = { 0: ['深', 'dark'], 1: ['浅', 'light'] };

// [zh, en, code table or null]
const FIELDS = {
  FaceID: ['人脸标识', 'face ID'], PersonID: ['人员标识', 'person ID'], MotorVehicleID: ['机动车标识', 'vehicle ID'],
  NonMotorVehicleID: ['非机动车标识', 'non-motor vehicle ID'], InfoKind: ['信息分类', 'info kind', INFO_KIND],
  SourceID: ['来源图像标识', 'source image ID'], DeviceID: ['设备编码', 'device ID'], TollgateID: ['卡口编码', 'tollgate ID'],
  LeftTopX: ['左上角 X', 'left X'], LeftTopY: ['左上角 Y', 'top Y'], RightBtmX: ['右下角 X', 'right X'], RightBtmY: ['右下角 Y', 'bottom Y'],
  FaceAppearTime: ['出现时间', 'appeared'], FaceDisAppearTime: ['消失时间', 'disappeared'],
  PersonAppearTime: ['出现时间', 'appeared'], PersonDisAppearTime: ['消失时间', 'disappeared'],
  AppearTime: ['出现时间', 'appeared'], DisappearTime: ['消失时间', 'disappeared'], PassTime: ['经过时间', 'passed'],
  ShotTime: ['拍摄时间', 'shot'], MarkTime: ['标记时间', 'marked'], LocationMarkTime: ['位置标记时间', 'location marked'],
  GenderCode: ['性别', 'gender', GENDER], AgeUpLimit: ['年龄上限', 'age up to'], AgeLowerLimit: ['年龄下限', 'age from'],
  HairColor: ['发色', 'hair colour', COLOR], RespiratorColor: ['口罩颜色', 'mask colour', COLOR],
  CoatColor: ['上衣颜色', 'coat colour', COLOR], TrousersColor: ['下衣颜色', 'trousers colour', COLOR],
  CoatStyle: ['上衣款式', 'coat style'], TrousersStyle: ['下衣款式', 'trousers style'], BagStyle: ['包款式', 'bag style'],
  HeightUpLimit: ['身高上限', 'height up to'], HeightLowerLimit: ['身高下限', 'height from'],
  IsDriver: ['是否驾驶员', 'driver', FLAG], IsForeigner: ['是否涉外人员', 'foreigner', FLAG],
  IsSuspectedTerrorist: ['是否涉恐人员', 'suspected terrorist', FLAG], IsCriminalInvolved: ['是否涉案人员', 'criminal involved', FLAG],
  IsDetainees: ['是否在押人员', 'detainee', FLAG], IsVictim: ['是否被害人', 'victim', FLAG], IsSuspiciousPerson: ['是否可疑人', 'suspicious person', FLAG],
  HasPlate: ['有无车牌', 'has plate'], PlateClass: ['号牌种类', 'plate class'], PlateColor: ['号牌颜色', 'plate colour', COLOR],
  PlateNo: ['车牌号', 'plate number'], PlateNoAttach: ['挂车牌号', 'trailer plate'], PlateReliability: ['车牌置信度', 'plate reliability'],
  VehicleClass: ['车辆类型', 'vehicle class'], VehicleBrand: ['车辆品牌', 'brand'], VehicleModel: ['车辆型号', 'model'],
  VehicleColor: ['车身颜色', 'vehicle colour', COLOR], VehicleColorDepth: ['颜色深浅', 'colour depth', DEPTH],
  Speed: ['车速(km/h)', 'speed (km/h)'], Direction: ['行驶方向', 'direction'], LaneNo: ['车道号', 'lane'],
  Similaritydegree: ['相似度', 'similarity'], Attitude: ['姿态', 'attitude'],
};

// fieldLabel is the field's name in the console's language.
export function fieldLabel(k) { const f = FIELDS[k]; return f ? f[lang() === 'zh' ? 0 : 1] : k; }

// fieldValue decodes a coded value; others show as they are.
export function fieldValue(k, v) {
  const codes = FIELDS[k]?.[2];
  const c = codes && codes[Number(v)];
  if (c) return c[lang() === 'zh' ? 0 : 1];
  const ts = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$/.exec(String(v)); // GA/T 1400 dateTime
  if (k.endsWith('Time') && ts) return fmtTime(new Date(ts[1], ts[2] - 1, ts[3], ts[4], ts[5], ts[6])); // GA/T 1400 times carry no zone: read as local time
  if (typeof v === 'boolean') return v ? (lang() === 'zh' ? '有' : 'yes') : (lang() === 'zh' ? '无' : 'no');
  return String(v);
}

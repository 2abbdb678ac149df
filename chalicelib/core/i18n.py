"""Server-produced texts in 简体中文 and English, chosen by Accept-Language.

Every error code and notification text lives here, so a missing translation is a
failing unit test (tests/unit/test_i18n.py), not a surprise in production.
"""
from __future__ import annotations

DEFAULT_LOCALE = "zh-CN"
LOCALES = ("zh-CN", "en")

MESSAGES: dict[str, dict[str, str]] = {
    # errors
    "UNAUTHENTICATED": {"zh-CN": "未登录或登录已失效，请重新登录", "en": "Not signed in, or the session has ended; please sign in again"},
    "INVALID_TOKEN": {"zh-CN": "访问令牌无效：{reason}", "en": "The access token is invalid: {reason}"},
    "INVALID_CREDENTIALS": {"zh-CN": "手机号或密码错误", "en": "Wrong mobile number or password"},
    "LOGIN_LOCKED": {"zh-CN": "登录失败次数过多，请{minutes}分钟后再试", "en": "Too many failed sign-ins; try again in {minutes} minutes"},
    "ACCOUNT_DISABLED": {"zh-CN": "账号已停用", "en": "The account is disabled"},
    "FORBIDDEN": {"zh-CN": "没有权限执行此操作（{module}：{action}）", "en": "You are not allowed to do this ({module}: {action})"},
    "RECORD_FORBIDDEN": {"zh-CN": "没有权限访问该记录", "en": "You are not allowed to access this record"},
    "FIELD_READ_ONLY": {"zh-CN": "没有权限修改字段：{fields}", "en": "You are not allowed to change these fields: {fields}"},
    "NOT_FOUND": {"zh-CN": "{entity}不存在或已删除", "en": "{entity} not found or deleted"},
    "ROUTE_NOT_FOUND": {"zh-CN": "接口不存在", "en": "No such endpoint"},
    "VALIDATION_FAILED": {"zh-CN": "提交的数据不正确，请检查标出的字段", "en": "The submitted data is not valid; see the listed fields"},
    "INVALID_JSON": {"zh-CN": "请求体不是合法的 JSON", "en": "The request body is not valid JSON"},
    "VERSION_CONFLICT": {"zh-CN": "该记录已被他人修改，请刷新后重试", "en": "Someone else changed this record; reload and try again"},
    "PRECONDITION_REQUIRED": {"zh-CN": "更新需要提供版本号（If-Match 头或 version 字段）", "en": "Updates need the record version (If-Match header or version field)"},
    "IDEMPOTENCY_KEY_REUSED": {"zh-CN": "该幂等键已用于不同的请求内容", "en": "This idempotency key was already used with a different request body"},
    "IDEMPOTENCY_IN_PROGRESS": {"zh-CN": "相同幂等键的请求正在处理中", "en": "A request with the same idempotency key is still being processed"},
    "DUPLICATE": {"zh-CN": "{field}「{value}」已存在", "en": "{field} '{value}' already exists"},
    "DEPARTMENT_NOT_EMPTY": {"zh-CN": "部门下还有{children}个子部门和{users}名员工，不能删除", "en": "The department still has {children} sub-departments and {users} users; it cannot be deleted"},
    "DEPARTMENT_CYCLE": {"zh-CN": "不能把部门移动到它自己或它的下级部门之下", "en": "A department cannot be moved under itself or one of its sub-departments"},
    "ROOT_DEPARTMENT": {"zh-CN": "顶级部门不能删除或移动", "en": "The top department cannot be deleted or moved"},
    "SUPERVISOR_CYCLE": {"zh-CN": "直属上级不能形成循环", "en": "The supervisor chain cannot form a loop"},
    "LAST_SUPER_ADMIN": {"zh-CN": "至少需要保留一名启用的超级管理员", "en": "At least one active super administrator must remain"},
    "ROLE_IN_USE": {"zh-CN": "角色仍有{users}名员工在使用，不能删除", "en": "The role is still assigned to {users} users; it cannot be deleted"},
    "CUSTOM_FIELD_LIMIT": {"zh-CN": "{kind}类型的自定义字段已达上限（{limit}个）", "en": "No more custom fields of kind {kind} (limit {limit})"},
    "UNKNOWN_FILTER_FIELD": {"zh-CN": "不能按字段「{field}」筛选或排序", "en": "Cannot filter or sort by field '{field}'"},
    "FIELD_NOT_READABLE": {"zh-CN": "没有权限按字段「{field}」筛选、排序或统计", "en": "You are not allowed to filter, sort or count by field '{field}'"},
    "INVALID_FILTER": {"zh-CN": "筛选条件不正确：{reason}", "en": "The filter is not valid: {reason}"},
    "SEARCH_UNAVAILABLE": {"zh-CN": "搜索服务暂时不可用，请稍后再试", "en": "Search is unavailable right now; try again shortly"},
    "NOT_IN_RECYCLE_BIN": {"zh-CN": "该记录不在回收站中", "en": "The record is not in the recycle bin"},
    "INVALID_CURSOR": {"zh-CN": "分页游标无效或已过期", "en": "The page cursor is not valid or has expired"},
    "RATE_LIMITED": {"zh-CN": "请求过于频繁，请稍后再试", "en": "Too many requests; please try again shortly"},
    "INVALID_STATE": {"zh-CN": "当前状态不允许此操作：{reason}", "en": "Not allowed in the current state: {reason}"},
    "APPROVAL_FLOW_MISSING": {"zh-CN": "业务类型「{business_type}」没有启用的审批流程，请联系管理员", "en": "No enabled approval flow for business type '{business_type}'; ask an administrator"},
    "APPROVAL_FLOW_DISABLED": {"zh-CN": "该审批流程已停用", "en": "This approval flow is disabled"},
    "APPROVAL_STEP_CLOSED": {"zh-CN": "该审批节点已由他人处理", "en": "Someone else already decided this approval step"},
    "NOT_CURRENT_ASSIGNEE": {"zh-CN": "您不是当前节点的审批人", "en": "You are not an approver of the current step"},
    "APPROVAL_ACTION_NOT_ALLOWED": {"zh-CN": "当前节点不允许此操作（{action}）", "en": "This step does not allow the action ({action})"},
    "APPROVAL_APPLICANT_ONLY": {"zh-CN": "只有申请人可以执行此操作", "en": "Only the applicant can do this"},
    "APPROVAL_URGED_RECENTLY": {"zh-CN": "刚刚催办过，请{minutes}分钟后再试", "en": "Already urged; try again in {minutes} minutes"},
    "FORM_DISABLED": {"zh-CN": "表单「{name}」已停用", "en": "The form '{name}' is disabled"},
    "NOT_A_DOCUMENT": {"zh-CN": "只有公文可以归档或销毁", "en": "Only official documents can be archived or destroyed"},
    "RECORD_TOO_LARGE": {"zh-CN": "记录过大（{size} 字节，上限 {limit} 字节），请减少明细行或长文本", "en": "The record is too large ({size} bytes, limit {limit}); use fewer rows or shorter texts"},
    "FILE_NOT_UPLOADED": {"zh-CN": "还没有收到该文件，请先用上传地址上传再确认", "en": "The file has not been uploaded yet; upload it with the upload URL, then confirm"},
    "FILE_SIZE_MISMATCH": {"zh-CN": "上传的文件大小（{actual} 字节）与声明的大小（{expected} 字节）不符", "en": "The uploaded file has {actual} bytes, not the declared {expected}"},
    "FILE_CHECKSUM_MISMATCH": {"zh-CN": "上传的文件内容与声明的 SHA-256 不符，请重新上传", "en": "The uploaded content does not match the declared SHA-256; upload it again"},
    "FILE_NOT_CONFIRMED": {"zh-CN": "文件尚未确认上传，暂不能下载", "en": "The upload of this file has not been confirmed yet; it cannot be downloaded"},
    "FILE_ALREADY_ATTACHED": {"zh-CN": "该文件已是这条记录的附件", "en": "This file is already attached to the record"},
    "INTERNAL": {"zh-CN": "服务器内部错误，请稍后再试（请求号 {request_id}）", "en": "Internal server error; please try again later (request {request_id})"},
    # field values (engine/fieldtypes.py): every message names no value the caller did not send
    "field.required": {"zh-CN": "「{label}」必填", "en": "{label} is required"},
    "field.unknown": {"zh-CN": "没有这个字段", "en": "No such field"},
    "field.text": {"zh-CN": "应为文本", "en": "Text expected"},
    "field.number": {"zh-CN": "应为数字", "en": "A number expected"},
    "field.integer": {"zh-CN": "应为整数", "en": "A whole number expected"},
    "field.number_range": {"zh-CN": "数字超出范围", "en": "The number is out of range"},
    "field.min": {"zh-CN": "不能小于 {min}", "en": "Must be at least {min}"},
    "field.max": {"zh-CN": "不能大于 {max}", "en": "Must be at most {max}"},
    "field.max_length": {"zh-CN": "最多 {max} 个字符", "en": "At most {max} characters"},
    "field.min_length": {"zh-CN": "至少 {min} 个字符", "en": "At least {min} characters"},
    "field.date": {"zh-CN": "日期格式应为 年-月-日，例如 2026-01-31", "en": "A date YYYY-MM-DD expected"},
    "field.datetime": {"zh-CN": "应为带时区的时间，例如 2026-11-23T09:00:00+08:00", "en": "An ISO instant with a time zone expected"},
    "field.boolean": {"zh-CN": "应为 true 或 false", "en": "true or false expected"},
    "field.option": {"zh-CN": "不是可选项", "en": "Not one of the allowed options"},
    "field.dictionary": {"zh-CN": "「{value}」不在数据字典中", "en": "'{value}' is not in the dictionary"},
    "field.list": {"zh-CN": "应为列表", "en": "A list expected"},
    "field.user": {"zh-CN": "员工不存在或已停用", "en": "No such active user"},
    "field.department": {"zh-CN": "部门不存在", "en": "No such department"},
    "field.mobile": {"zh-CN": "手机号格式不正确", "en": "Not a mobile number"},
    "field.email": {"zh-CN": "邮箱格式不正确", "en": "Not an e-mail address"},
    "field.phone": {"zh-CN": "电话号码格式不正确", "en": "Not a phone number"},
    "field.url": {"zh-CN": "网址应以 http:// 或 https:// 开头", "en": "A URL starting with http:// or https:// expected"},
    "field.region": {"zh-CN": "不是有效的行政区划代码", "en": "Not a known region code"},
    "field.address": {"zh-CN": "地址应包含文字、行政区划或成对的经纬度", "en": "An address {{text, region, lng, lat}} expected"},
    "field.coordinates": {"zh-CN": "经纬度应成对给出且在有效范围内", "en": "Give longitude and latitude together, within range"},
    "field.file": {"zh-CN": "文件不存在、尚未确认上传，或不是你上传的", "en": "No such file: it must be one you uploaded and confirmed"},
    "field.image": {"zh-CN": "应为图片文件", "en": "An image file expected"},
    "field.reference": {"zh-CN": "应为关联记录的编号", "en": "A record id expected"},
    "field.reference_type": {"zh-CN": "应关联「{entity}」类型的记录", "en": "A record of type '{entity}' expected"},
    "field.reference_missing": {"zh-CN": "关联的记录不存在", "en": "The referenced record does not exist"},
    "field.table": {"zh-CN": "明细表应为行的列表", "en": "A list of rows expected"},
    "field.row": {"zh-CN": "每一行应为对象", "en": "Each row must be an object"},
    "field.max_rows": {"zh-CN": "最多 {max} 行", "en": "At most {max} rows"},
    "field.unique": {"zh-CN": "「{label}」的值已被其他记录使用", "en": "Another record already has this {label}"},
    "field.key_format": {"zh-CN": "字段键应为小写字母开头的字母、数字或下划线（≤40）", "en": "A key of lower-case letters, digits and _ (≤40, starting with a letter) expected"},
    "field.options_missing": {"zh-CN": "选择字段需要选项或数据字典", "en": "Select fields need options or a dictionary"},
    "field.columns_missing": {"zh-CN": "明细表需要列", "en": "A detail table needs columns"},
    "field.nested_table": {"zh-CN": "明细表不能嵌套", "en": "Detail tables cannot be nested"},
    "field.duplicate_key": {"zh-CN": "字段键重复", "en": "Duplicate field key"},
    "field.min_max": {"zh-CN": "最小值不能大于最大值", "en": "The minimum is above the maximum"},
    "field.remind_needs_date": {"zh-CN": "到期提醒只能设在日期字段上", "en": "Reminders need a date field"},
    "field.owner_scope": {"zh-CN": "负责人不在你的数据权限范围内", "en": "The owner is outside your data scope"},
    "field.tags": {"zh-CN": "标签应为最多 20 个短文本的列表", "en": "A list of at most 20 short texts expected"},
    "file.name": {"zh-CN": "请填写文件名", "en": "A file name is required"},
    "file.content_type": {"zh-CN": "不支持上传这种类型的文件", "en": "Files of this type cannot be uploaded"},
    "file.too_large": {"zh-CN": "文件不能超过 {max}", "en": "Files may not be larger than {max}"},
    "file.sha256": {"zh-CN": "SHA-256 应为 64 位十六进制或 44 位 Base64", "en": "A SHA-256 in hex (64 characters) or base64 (44) expected"},
    "object.type_fixed": {"zh-CN": "字段类型不能修改", "en": "A field's type cannot change"},
    "object.unique_type": {"zh-CN": "只有文本、数字、手机、邮箱、电话、网址字段可以设为唯一", "en": "Only text, number, mobile, e-mail, phone and URL fields can be unique"},
    "object.unknown_type": {"zh-CN": "没有这种记录类型", "en": "No such record type"},
    "object.field_removed": {"zh-CN": "字段不能删除（可以隐藏）：{keys}", "en": "Fields cannot be removed (hide them instead): {keys}"},
    "object.parent_field": {"zh-CN": "上级字段应为必填、且关联固定记录类型的关联字段", "en": "The parent field must be a required reference to one record type"},
    "object.number_field": {"zh-CN": "编号字段应为文本字段", "en": "The number field must be a text field"},
    "object.number_rule": {"zh-CN": "编号规则不存在", "en": "No such numbering rule"},
    "object.reserved_key": {"zh-CN": "该字段键为系统保留", "en": "This field key is reserved"},
    "object.unique_later": {"zh-CN": "已有字段不能再设为唯一（已有的值无法保证不重复），请新建字段", "en": "An existing field cannot become unique (its values may already repeat); add a new field instead"},
    "object.title_field": {"zh-CN": "标题字段应为文本字段", "en": "The title field must be a text field"},
    "field.role": {"zh-CN": "角色不存在", "en": "No such role"},
    "field.bound_type": {"zh-CN": "最小值/最大值与字段类型不符（数字字段用数字，日期字段用 年-月-日）", "en": "min/max do not suit the field type (numbers for number fields, YYYY-MM-DD for dates)"},
    "field.read_only": {"zh-CN": "该字段由系统维护，不能直接修改", "en": "This field is maintained by the system"},
    # request bodies and query strings (pydantic errors, core/errors.field_errors)
    "field.missing": {"zh-CN": "必填", "en": "Required"},
    "field.object": {"zh-CN": "应为对象", "en": "An object expected"},
    "field.null": {"zh-CN": "应为空", "en": "Must be empty"},
    "field.time": {"zh-CN": "时间格式应为 时:分，例如 09:30", "en": "A time HH:MM expected"},
    "field.json": {"zh-CN": "应为合法的 JSON", "en": "Valid JSON expected"},
    "field.gt": {"zh-CN": "应大于 {min}", "en": "Must be greater than {min}"},
    "field.lt": {"zh-CN": "应小于 {max}", "en": "Must be less than {max}"},
    "field.multiple_of": {"zh-CN": "应为 {step} 的倍数", "en": "Must be a multiple of {step}"},
    "field.min_items": {"zh-CN": "至少 {min} 项", "en": "At least {min} items"},
    "field.max_items": {"zh-CN": "最多 {max} 项", "en": "At most {max} items"},
    "field.pattern": {"zh-CN": "格式不正确", "en": "Wrong format"},
    "field.invalid": {"zh-CN": "值不正确", "en": "Not a valid value"},
    "field.negative": {"zh-CN": "不能为负数", "en": "Must not be negative"},
    "field.negative_min": {"zh-CN": "最小值为负数时，字段需允许负数", "en": "A negative minimum needs a field that allows negatives"},
    "field.date_min": {"zh-CN": "不能早于 {min}", "en": "Must not be before {min}"},
    "field.date_max": {"zh-CN": "不能晚于 {max}", "en": "Must not be after {max}"},
    "field.month": {"zh-CN": "月份格式应为 年-月，例如 2026-01（月份 01–12）", "en": "A month YYYY-MM (01–12) expected"},
    "field.period": {"zh-CN": "不是可用的时间段：{periods}", "en": "Not a known period: {periods}"},
    "field.future": {"zh-CN": "应为将来的时间", "en": "Must be in the future"},
    "field.timezone": {"zh-CN": "请带上时区，例如 2026-11-23T09:00:00+08:00", "en": "Include a time zone offset, e.g. 2026-11-23T09:00:00+08:00"},
    "field.if_match": {"zh-CN": "If-Match 应为 \"<版本号>\"", "en": "If-Match must be \"<version>\""},
    "field.repeated": {"zh-CN": "参数只能出现一次", "en": "Give this parameter once"},
    "field.id_length": {"zh-CN": "最多 128 个字符", "en": "At most 128 characters"},
    "field.key_pattern": {"zh-CN": "应为小写字母开头的小写字母、数字或下划线", "en": "Lower-case letters, digits and _ (starting with a letter) expected"},
    "field.filters_json": {"zh-CN": "筛选条件应为 JSON 列表", "en": "The filters must be a JSON list"},
    "field.mobile_cn": {"zh-CN": "请输入11位中国大陆手机号", "en": "An 11-digit mainland China mobile number expected"},
    "field.password": {"zh-CN": "密码需要包含：{needs}", "en": "The password needs: {needs}"},
    "password.length": {"zh-CN": "8–128 个字符", "en": "8–128 characters"},
    "password.lower": {"zh-CN": "小写字母", "en": "a lower-case letter"},
    "password.upper": {"zh-CN": "大写字母", "en": "an upper-case letter"},
    "password.digit": {"zh-CN": "数字", "en": "a digit"},
    "password.symbol": {"zh-CN": "符号", "en": "a symbol"},
    "field.module": {"zh-CN": "没有这个模块", "en": "No such module"},
    "field.actions": {"zh-CN": "没有这些操作：{actions}", "en": "No such actions: {actions}"},
    "field.parent_department": {"zh-CN": "上级部门不存在", "en": "No such parent department"},
    "field.supervisor": {"zh-CN": "直属上级不存在", "en": "No such supervisor"},
    "field.other_user": {"zh-CN": "请选择另一名启用的员工", "en": "Choose another active user"},
    "field.mobile_taken": {"zh-CN": "手机号已注册", "en": "This mobile number is already registered"},
    "field.between": {"zh-CN": "应在 {min} 到 {max} 之间", "en": "Must be between {min} and {max}"},
    "field.active_user": {"zh-CN": "请选择启用的员工", "en": "Choose an active user"},
    "numbering.reset": {"zh-CN": "重置周期不能比日期格式更细", "en": "The reset period cannot be finer than the date in the number"},
    # approvals
    "approval.earlier_node": {"zh-CN": "只能退回到之前的审批节点", "en": "Only an earlier approval node"},
    "approval.already_approver": {"zh-CN": "已是该节点审批人", "en": "Already an approver of this node"},
    "approval.comment_needed": {"zh-CN": "请填写评论或附件", "en": "A comment or an attachment is required"},
    "approval.no_rejecting_node": {"zh-CN": "没有拒绝它的节点", "en": "No node rejected it"},
    "approval.business_type_fixed": {"zh-CN": "业务类型不能修改，请复制流程", "en": "The business type cannot change; copy the flow for another type"},
    "approval.unknown_node": {"zh-CN": "没有这个节点", "en": "No such node"},
    "approval.fixed_flow": {"zh-CN": "固定流程不能修改审批人", "en": "A fixed flow's approvers cannot be changed"},
    "approval.not_free": {"zh-CN": "只有自定义流程可以增加节点", "en": "Only free flows accept added nodes"},
    "approval.choose_approvers": {"zh-CN": "请为「{node}」选择审批人", "en": "Choose the approvers of {node}"},
    "approval.users_required": {"zh-CN": "需要指定审批人", "en": "Approvers are required"},
    "approval.role_required": {"zh-CN": "需要指定角色", "en": "A role is required"},
    "approval.branches_required": {"zh-CN": "条件节点需要分支", "en": "A branch node needs branches"},
    "approval.node_id_duplicate": {"zh-CN": "节点编号重复：{id}", "en": "Duplicate node id: {id}"},
    # reasons and names inside messages (parameters rendered in the caller's language)
    "reason.delivered": {"zh-CN": "已提醒", "en": "already delivered"},
    "reason.super_role": {"zh-CN": "超级管理员角色拥有全部权限，不能修改", "en": "the super administrator role cannot be changed"},
    "reason.builtin_role": {"zh-CN": "内置角色不能删除", "en": "built-in roles cannot be deleted"},
    "label.mobile": {"zh-CN": "手机号", "en": "Mobile"},
    "label.tenant_id": {"zh-CN": "租户代码", "en": "Tenant id"},
    "label.key": {"zh-CN": "字段键", "en": "Key"},
    "label.code": {"zh-CN": "编码", "en": "Code"},
    "label.slot": {"zh-CN": "搜索槽位", "en": "Search slot"},
    # cross-field rules (engine/fieldtypes.py: rules declared on a record type, custom object or form)
    "rule.range_date": {"zh-CN": "「{end}」不能早于「{start}」", "en": "{end} cannot be before {start}"},
    "rule.range_date_strict": {"zh-CN": "「{end}」应晚于「{start}」", "en": "{end} must be after {start}"},
    "rule.range_number": {"zh-CN": "「{end}」不能小于「{start}」", "en": "{end} cannot be less than {start}"},
    "rule.range_number_strict": {"zh-CN": "「{end}」应大于「{start}」", "en": "{end} must be greater than {start}"},
    "rule.sum": {"zh-CN": "「{total}」应等于「{table}」中「{column}」的合计 {sum}", "en": "{total} must equal the sum of {column} in {table} ({sum})"},
    "rule.compare.gt": {"zh-CN": "「{field}」应大于 {value}", "en": "{field} must be greater than {value}"},
    "rule.compare.gte": {"zh-CN": "「{field}」不能小于 {value}", "en": "{field} must be at least {value}"},
    "rule.compare.lt": {"zh-CN": "「{field}」应小于 {value}", "en": "{field} must be less than {value}"},
    "rule.compare.lte": {"zh-CN": "「{field}」不能大于 {value}", "en": "{field} must be at most {value}"},
    "rule.compare.eq": {"zh-CN": "「{field}」应等于 {value}", "en": "{field} must equal {value}"},
    "rule.compare.ne": {"zh-CN": "「{field}」不能等于 {value}", "en": "{field} must not equal {value}"},
    "rule.span.days": {"zh-CN": "「{field}」不能超过「{start}」至「{end}」的 {max} 天", "en": "{field} cannot exceed the {max} days from {start} to {end}"},
    "rule.span.hours": {"zh-CN": "「{field}」不能超过「{start}」至「{end}」的 {max} 小时", "en": "{field} cannot exceed the {max} hours from {start} to {end}"},
    "rule.required_if": {"zh-CN": "「{when}」为「{option}」时，「{field}」必填", "en": "{field} is required when {when} is {option}"},
    "rule.kind": {"zh-CN": "不支持的规则类型", "en": "Unknown rule kind"},
    "rule.field_type": {"zh-CN": "该字段的类型不适用于此规则", "en": "This field's type does not suit the rule"},
    "rule.same_kind": {"zh-CN": "起止字段应为同一类型（都是日期、都是日期时间或都是数字）", "en": "Both fields must be of one kind (dates, date-times or numbers)"},
    "rule.same_field": {"zh-CN": "不能与起始字段相同", "en": "Must differ from the start field"},
    "rule.column": {"zh-CN": "不是该明细表的数字列", "en": "Not a number column of that table"},
    "rule.value": {"zh-CN": "应为数字", "en": "A number expected"},
    "rule.equals": {"zh-CN": "应为该字段的一个可选值", "en": "One of the field's values expected"},
    "rule.boolean": {"zh-CN": "应为 true 或 false", "en": "true or false expected"},
    # list filters (search/rules.py): the reason of INVALID_FILTER
    "filter.too_many": {"zh-CN": "最多 {max} 个筛选条件", "en": "at most {max} conditions"},
    "filter.no_field": {"zh-CN": "第 {n} 个条件没有字段", "en": "condition {n} has no field"},
    "filter.period_field": {"zh-CN": "时间段只能用于日期字段", "en": "a period needs a date field"},
    "filter.op": {"zh-CN": "不支持的运算符", "en": "unknown operator"},
    "filter.condition": {"zh-CN": "第 {n} 个条件：{problem}", "en": "condition {n}: {problem}"},
    "filter.single": {"zh-CN": "应为单个值", "en": "a single value is expected"},
    "filter.number": {"zh-CN": "应为数字", "en": "a number is expected"},
    "filter.finite": {"zh-CN": "应为有限的数字", "en": "a finite number is expected"},
    "filter.boolean": {"zh-CN": "应为 true 或 false", "en": "true or false is expected"},
    "filter.date": {"zh-CN": "应为日期或时间", "en": "an ISO date or instant is expected"},
    "filter.text": {"zh-CN": "应为不超过 200 个字符的文本", "en": "a text value (≤200 characters) is expected"},
    "filter.list": {"zh-CN": "应为 1–100 个值的列表", "en": "a list of 1–100 values is expected"},
    "filter.range": {"zh-CN": "应为含 gte、gt、lte 或 lt 的对象", "en": "an object with gte/gt/lte/lt is expected"},
    "filter.range_kind": {"zh-CN": "范围条件只能用于数字、日期或文本字段", "en": "range needs a number, date or text field"},
    "filter.contains": {"zh-CN": "包含条件需要文本字段和非空文本", "en": "contains needs a text field and some text"},
    "filter.facets": {"zh-CN": "最多统计 {max} 个字段", "en": "at most {max} facets"},
    "filter.views": {"zh-CN": "每个列表最多 {max} 个场景", "en": "at most {max} saved views per list"},
    "filter.engine": {"zh-CN": "搜索引擎无法执行该条件", "en": "the search engine cannot run this condition"},
    # forms
    "form.entity_missing": {"zh-CN": "关联字段需要指定记录类型", "en": "A reference field needs a record type"},
    "form.columns_only_table": {"zh-CN": "只有明细表有列", "en": "Only detail tables have columns"},
    "form.duplicate_keys": {"zh-CN": "字段键重复：{keys}", "en": "Duplicate field keys: {keys}"},
    "form.title_field": {"zh-CN": "标题字段应为表单中的字段", "en": "The title field must be one of the form's fields"},
    "form.flow_type": {"zh-CN": "流程的业务类型应为 {business_type}", "en": "The flow must be of business type {business_type}"},
    # dictionaries
    "DICTIONARY_TYPE_NOT_FOUND": {"zh-CN": "没有字典类型「{type}」；管理员可以先定义该类型", "en": "No dictionary type '{type}'; an administrator can define it first"},
    "DICTIONARY_TYPE_BUILTIN": {"zh-CN": "「{type}」是内置字典类型", "en": "'{type}' is a built-in dictionary type"},
    "field.dictionary_type": {"zh-CN": "没有这个字典类型", "en": "No such dictionary type"},
    "entity.dictionary_type": {"zh-CN": "字典类型", "en": "Dictionary type"},
    # action names inside messages (permission errors)
    **{f"action.{k}": {"zh-CN": zh, "en": en} for k, (zh, en) in {
        "create": ("新建", "create"), "update": ("编辑", "edit"), "list": ("查看列表", "list"), "read": ("查看详情", "read"),
        "delete": ("删除", "delete"), "import": ("导入", "import"), "export": ("导出", "export"), "transfer": ("转移", "transfer"),
        "pool": ("放入公海", "move to the pool"), "lock": ("锁定/解锁", "lock/unlock"), "team": ("编辑团队成员", "edit the team"),
        "approve": ("审批", "approve"), "shelf": ("上下架", "shelve"), "print": ("打印", "print"), "manage": ("管理", "manage"),
    }.items()},
    **{f"kind.{k}": {"zh-CN": zh, "en": en} for k, (zh, en) in {
        "text": ("文本", "text"), "keyword": ("选项/编码", "keyword"), "prefix": ("号码/邮箱", "number/e-mail"),
        "number": ("数字", "number"), "date": ("日期", "date"), "boolean": ("是/否", "yes/no"),
    }.items()},
    # entity names used inside messages
    "entity.customer": {"zh-CN": "客户", "en": "Customer"},
    "entity.custom_field": {"zh-CN": "自定义字段", "en": "Custom field"},
    "entity.saved_view": {"zh-CN": "场景", "en": "Saved view"},
    "entity.department": {"zh-CN": "部门", "en": "Department"},
    "entity.user": {"zh-CN": "员工", "en": "User"},
    "entity.role": {"zh-CN": "角色", "en": "Role"},
    "entity.tenant": {"zh-CN": "租户", "en": "Tenant"},
    "entity.dictionary": {"zh-CN": "字典项", "en": "Dictionary item"},
    "entity.numbering_rule": {"zh-CN": "编号规则", "en": "Numbering rule"},
    "entity.reminder": {"zh-CN": "提醒", "en": "Reminder"},
    "entity.notification": {"zh-CN": "通知", "en": "Notification"},
    "entity.record": {"zh-CN": "记录", "en": "Record"},
    "entity.approval": {"zh-CN": "审批", "en": "Approval"},
    "entity.approval_flow": {"zh-CN": "审批流程", "en": "Approval flow"},
    "entity.approval_template": {"zh-CN": "流程模板", "en": "Flow template"},
    "entity.form": {"zh-CN": "表单", "en": "Form"},
    "entity.form_template": {"zh-CN": "表单模板", "en": "Form template"},
    "entity.application": {"zh-CN": "申请", "en": "Application"},
    "entity.custom_object": {"zh-CN": "自定义对象", "en": "Custom object"},
    "entity.file": {"zh-CN": "文件", "en": "File"},
    "entity.attachment": {"zh-CN": "附件", "en": "Attachment"},
    "entity.record_type": {"zh-CN": "记录类型", "en": "Record type"},
    # duplicate checks and merges (chalicelib/duplicates)
    "duplicates.blocked": {"zh-CN": "已有相同{label}的记录，不能重复录入", "en": "A record with the same {label} already exists"},
    "duplicates.unknown_type": {"zh-CN": "记录类型「{type}」不参与查重", "en": "Record type '{type}' takes no part in duplicate checks"},
    "duplicates.rule_twice": {"zh-CN": "与第{other}条规则的查重类型和记录类型相同", "en": "Same kind and record types as rule {other}"},
    "MERGE_SAME_RECORD": {"zh-CN": "不能把记录合并到它自己", "en": "A record cannot be merged into itself"},
    "MERGE_TOO_LARGE": {"zh-CN": "要合并的记录下有太多相关记录和附件（上限 {max} 条）", "en": "The record has too many related records and attachments to merge (limit {max})"},
    "merge.same_record": {"zh-CN": "不能与要保留的记录相同", "en": "Must differ from the record that is kept"},
    "merge.unique_field": {"zh-CN": "「{label}」是唯一字段，不能从被合并的记录取值", "en": "{label} is unique; it cannot be taken from the record merged in"},
    "reason.merge_survivor_deleted": {"zh-CN": "合并后保留的记录已删除，请先恢复它", "en": "the record it was merged into is deleted; restore that one first"},
    "CUSTOM_OBJECT_LIMIT": {"zh-CN": "{kind}类型的字段已达上限（{limit}个）", "en": "No more fields of kind {kind} (limit {limit})"},
    "notify.record.due": {"zh-CN": "「{title}」的{field}将于 {date} 到期", "en": "{field} of '{title}' is due on {date}"},
    # approval words (history notes on the record's timeline, state names in errors)
    "approval.action.submit": {"zh-CN": "提交审批", "en": "Submitted for approval"},
    "approval.action.resubmit": {"zh-CN": "重新提交", "en": "Resubmitted"},
    "approval.action.approve": {"zh-CN": "同意", "en": "Approved"},
    "approval.action.reject": {"zh-CN": "拒绝", "en": "Rejected"},
    "approval.action.transfer": {"zh-CN": "转交", "en": "Transferred"},
    "approval.action.add_signer": {"zh-CN": "加签", "en": "Added approvers"},
    "approval.action.comment": {"zh-CN": "评论", "en": "Commented"},
    "approval.action.withdraw": {"zh-CN": "撤回", "en": "Withdrawn"},
    "approval.action.urge": {"zh-CN": "催办", "en": "Urged"},
    "approval.action.notify": {"zh-CN": "知会", "en": "Notified"},
    "approval.action.auto_pass": {"zh-CN": "自动通过（无审批人）", "en": "Passed automatically (no approver)"},
    "approval.action.overdue": {"zh-CN": "超时", "en": "Overdue"},
    "approval.action.escalate": {"zh-CN": "超时上报", "en": "Escalated"},
    "approval.status.running": {"zh-CN": "审核中", "en": "in review"},
    "approval.status.approved": {"zh-CN": "已通过", "en": "approved"},
    "approval.status.rejected": {"zh-CN": "已拒绝", "en": "rejected"},
    "approval.status.withdrawn": {"zh-CN": "已撤回", "en": "withdrawn"},
    "application.status.draft": {"zh-CN": "草稿", "en": "draft"},
    "application.status.pending": {"zh-CN": "审核中", "en": "in review"},
    "application.status.approved": {"zh-CN": "已通过", "en": "approved"},
    "application.status.rejected": {"zh-CN": "已拒绝", "en": "rejected"},
    "application.status.withdrawn": {"zh-CN": "已撤回", "en": "withdrawn"},
    "application.status.archived": {"zh-CN": "已归档", "en": "archived"},
    "application.status.destroyed": {"zh-CN": "已销毁", "en": "destroyed"},
    # notifications
    "notify.reminder.title": {"zh-CN": "提醒：{title}", "en": "Reminder: {title}"},
    "notify.handover.title": {"zh-CN": "{from_name} 的记录已交接给你：{items}", "en": "{from_name}'s records were handed over to you: {items}"},
    "notify.handover.item": {"zh-CN": "{name} {count} 条", "en": "{name} × {count}"},
    "notify.approval.pending": {"zh-CN": "待审批：{title}（{step}）", "en": "Waiting for your approval: {title} ({step})"},
    "notify.approval.cc": {"zh-CN": "知会：{title}（{step}）", "en": "For your information: {title} ({step})"},
    "notify.approval.cc_result": {"zh-CN": "抄送：{title} 已通过", "en": "Copied to you: {title} was approved"},
    "notify.approval.approved": {"zh-CN": "审批通过：{title}", "en": "Approved: {title}"},
    "notify.approval.rejected": {"zh-CN": "审批被拒绝：{title}", "en": "Rejected: {title}"},
    "notify.approval.withdrawn": {"zh-CN": "申请已撤回：{title}", "en": "Withdrawn by the applicant: {title}"},
    "notify.approval.urge": {"zh-CN": "催办：{title}（{step}）请尽快处理", "en": "Reminder from the applicant: {title} ({step}) is waiting for you"},
    "notify.approval.due_soon": {"zh-CN": "审批即将超时：{title}（{step}）", "en": "Approval due soon: {title} ({step})"},
    "notify.approval.overdue": {"zh-CN": "审批已超时：{title}（{step}）", "en": "Approval overdue: {title} ({step})"},
    "notify.transfer.title": {"zh-CN": "{entity}「{name}」已转移给你", "en": "{entity} '{name}' was transferred to you"},
}


def pick_locale(accept_language: str | None) -> str:
    """The first supported language in an Accept-Language header (q-values honoured)."""
    if not accept_language:
        return DEFAULT_LOCALE
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        bits = part.strip().split(";")
        tag = bits[0].strip().lower()
        q = 1.0
        for b in bits[1:]:
            if b.strip().startswith("q="):
                try:
                    q = float(b.strip()[2:])
                except ValueError:
                    q = 0.0
        weighted.append((-q, position, tag))
    for _, _, tag in sorted(weighted):
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LOCALE


NAMED = ("entity.", "module.", "action.", "kind.", "reason.", "label.", "approval.status.", "application.status.")
# ^ parameters that are names or phrases with texts of their own


def _name(key: str, locale: str) -> str:
    """A named thing in the caller's language; an unknown one by its bare name (a custom object's module)."""
    return text(key, locale) if key in MESSAGES else key.split(".", 1)[1]


def text(key: str, locale: str = DEFAULT_LOCALE, **params: object) -> str:
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    template = entry.get(locale) or entry[DEFAULT_LOCALE]
    localized = {k: (_name(v, locale) if isinstance(v, str) and v.startswith(NAMED) else v) for k, v in params.items()}
    try:
        return template.format(**localized)
    except (KeyError, IndexError):
        return template


def both(key: str, **params: object) -> dict[str, str]:
    """The text in every locale (stored on notifications so the reader's language can be shown)."""
    return {loc: text(key, loc, **params) for loc in LOCALES}

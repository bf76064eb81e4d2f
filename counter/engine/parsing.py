"""Read workflow and form YAML into definitions, keeping the line of every key.

YAML is read with ``yaml.SafeLoader`` (the same rules as ``yaml.safe_load``)
but through its node tree, so each key keeps its line; a pydantic error
location is mapped back to that line. What the models cannot see (names of
states, triggers told apart by conditions, registered names) is checked here
too, with the line to blame.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from counter.engine.definition import (
    ANY_STATE,
    BUILTIN_TRIGGERS,
    FormDefinition,
    WorkflowDefinition,
    _Located,
)
from counter.engine.registry import Registry, did_you_mean
from counter.errors import DefinitionError
from counter.text import Text

__all__ = ["fail", "load_form", "parse_form", "parse_workflow"]

_Path = tuple[str | int, ...]
M = TypeVar("M", bound=_Located)

def fail(file: str, line: int | None, zh: str, en: str, **context: Any) -> DefinitionError:
    return DefinitionError(Text(zh=zh, en=en), file=file, line=line, **context)


def _walk(node: yaml.Node, path: _Path, lines: dict[_Path, int], file: str) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                raise fail(
                    file,
                    key_node.start_mark.line + 1,
                    f"重复的键 '{key}'",
                    f"duplicate key '{key}'",
                )
            seen.add(key)
            child = (*path, key)
            lines[child] = key_node.start_mark.line + 1
            _walk(value_node, child, lines, file)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), lines, file)


def _read_yaml(text: str, file: str) -> tuple[Any, dict[_Path, int]]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise fail(file, 1, "文件为空", "the file is empty")
        lines: dict[_Path, int] = {}
        _walk(node, (), lines, file)
        return loader.construct_document(node), lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise fail(
            file,
            mark.line + 1 if mark else None,
            f"YAML 语法错误:{problem}",
            f"YAML syntax error: {problem}",
        ) from None
    except yaml.YAMLError as exc:
        raise fail(file, None, f"YAML 错误:{exc}", f"YAML error: {exc}") from None
    finally:
        loader.dispose()


def _in_file(lines: Mapping[_Path, int], loc: _Path) -> _Path:
    """The deepest part of ``loc`` that is in the file (pydantic adds union tags like ``str``)."""
    current: _Path = ()
    for part in loc:
        if (*current, part) in lines:
            current = (*current, part)
    return current


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _keys_at(model: type[BaseModel], loc: _Path) -> list[str]:
    """The keys allowed at ``loc`` (for "did you mean" on an unknown key)."""
    current: type[BaseModel] | None = model
    pending_container = False
    for part in loc:
        if current is None:
            return []
        if pending_container:
            pending_container = False
            continue
        if isinstance(part, str) and part in current.model_fields:
            annotation = current.model_fields[part].annotation
            inner = _model_in(annotation)
            pending_container = inner is not None and annotation is not inner
            current = inner
        else:
            return []
    return list(current.model_fields) if current is not None and not pending_container else []


def _validate(model: type[M], raw: Any, lines: Mapping[_Path, int], file: str) -> M:
    if not isinstance(raw, Mapping):
        raise fail(file, 1, "文件顶层必须是映射(键: 值)", "the top level must be a mapping")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        # an unknown key usually explains the missing one ("destination" for "dest")
        errors = exc.errors()
        error = min(errors, key=lambda e: e["type"] != "extra_forbidden")
        loc: _Path = tuple(error["loc"])
        found = _in_file(lines, loc)
        line = lines.get(found)
        where = ".".join(str(p) for p in (loc if error["type"] == "missing" else found))
        where = where or "<top>"
        # a union (``source: a state or a list``) fails once per alternative: say all of them
        alternatives = [e["msg"] for e in errors if _in_file(lines, tuple(e["loc"])) == found]
        message = "; or ".join(dict.fromkeys(alternatives))
        if error["type"] == "extra_forbidden":
            key = str(loc[-1])
            hint = did_you_mean(key, _keys_at(model, loc[:-1]))
            zh, en = f"未知的键 '{key}'{hint}", f"unknown key '{key}'{hint}"
        elif error["type"] == "missing":
            zh, en = f"缺少必填的键 '{where}'", f"missing key '{where}'"
        else:
            zh = f"'{where}' 的值无效:{message}"
            en = f"invalid value at '{where}': {message}"
        raise fail(file, line, zh, en, errors=exc.error_count()) from None


def _parse(model: type[M], text: str, file: str) -> M:
    raw, lines = _read_yaml(text, file)
    parsed = _validate(model, raw, lines, file)
    located = {".".join(str(p) for p in path): line for path, line in lines.items()}
    parsed.locate(file, located)
    return parsed


def parse_form(text: str, file: str, registry: Registry | None = None) -> FormDefinition:
    """A form from YAML text; with a registry, its validator names are checked too."""
    form = _parse(FormDefinition, text, file)
    names = [f.name for f in form.fields]
    for index, spec in enumerate(form.fields):
        if names.index(spec.name) != index:
            raise fail(
                file,
                form.line("fields", index, "name"),
                f"重复的字段 '{spec.name}'",
                f"duplicate field '{spec.name}'",
            )
        if spec.type == "choice" and not spec.choices:
            raise fail(
                file,
                form.line("fields", index),
                f"选择字段 '{spec.name}' 需要 choices",
                f"choice field '{spec.name}' needs choices",
            )
        if spec.choices and spec.type != "choice":
            raise fail(
                file,
                form.line("fields", index, "choices"),
                f"只有 choice 类型的字段可以有 choices('{spec.name}')",
                f"only choice fields have choices ('{spec.name}' is {spec.type})",
            )
        for key in ("required_if", "shown_if"):
            for other in getattr(spec, key) or {}:
                if other not in names:
                    hint = did_you_mean(other, names)
                    raise fail(
                        file,
                        form.line("fields", index, key),
                        f"{key} 引用了未知字段 '{other}'{hint}",
                        f"{key} names unknown field '{other}'{hint}",
                    )
        if registry is not None:
            for v_index, name in enumerate(spec.validators):
                if not registry.has("validator", name):
                    raise DefinitionError(
                        registry.unknown_message("validator", name),
                        file=file,
                        line=form.line("fields", index, "validators", v_index),
                    )
    return form


def load_form(path: Path, registry: Registry | None = None) -> FormDefinition:
    form = parse_form(path.read_text(encoding="utf-8"), str(path), registry)
    if form.name != path.stem:
        raise fail(
            str(path),
            form.line("name"),
            f"表单名 '{form.name}' 必须与文件名 '{path.stem}' 相同",
            f"form name '{form.name}' must match the file name '{path.stem}'",
        )
    return form


# --- workflow semantics ----------------------------------------------------


def _check_states(wf: WorkflowDefinition, file: str) -> None:
    states = list(wf.states)

    def unknown(name: str, *path: str | int) -> DefinitionError:
        hint = did_you_mean(name, states)
        return fail(
            file, wf.line(*path), f"未知状态 '{name}'{hint}", f"unknown state '{name}'{hint}"
        )

    if wf.initial not in wf.states:
        raise unknown(wf.initial, "initial")
    if wf.states[wf.initial].final:
        raise fail(
            file, wf.line("initial"), "初始状态不能是终态", "the initial state cannot be final"
        )
    for name, state in wf.states.items():
        if name == ANY_STATE or name in BUILTIN_TRIGGERS:
            raise fail(file, wf.line("states", name), f"保留名 '{name}'", f"'{name}' is reserved")
        if state.final and (state.approval or state.form):
            raise fail(
                file,
                wf.line("states", name, "final"),
                f"终态 '{name}' 不能是审批状态或收集表单",
                f"final state '{name}' cannot be an approval state or collect a form",
            )
        if not state.approval and (state.roles is not None or state.reject_to is not None):
            raise fail(
                file,
                wf.line("states", name, "roles" if state.roles is not None else "reject_to"),
                f"roles 与 reject_to 只用于审批状态('{name}' 没有 approval: true)",
                f"roles and reject_to are for approval states ('{name}' is not approval: true)",
            )
        if state.reject_to is not None and state.reject_to not in wf.states:
            raise unknown(state.reject_to, "states", name, "reject_to")
    for index, t in enumerate(wf.transitions):
        if t.trigger in BUILTIN_TRIGGERS:
            raise fail(
                file,
                wf.line("transitions", index, "trigger"),
                f"'{t.trigger}' 是审批状态的内置触发器,不能再定义",
                f"'{t.trigger}' is built into approval states; it cannot be declared",
            )
        if ANY_STATE in t.sources and len(t.sources) > 1:
            raise fail(
                file,
                wf.line("transitions", index, "source"),
                "'*' 不能与其他来源状态并列",
                "'*' cannot be listed with other source states",
            )
        for s_index, source in enumerate(t.sources):
            path: tuple[str | int, ...] = ("transitions", index, "source")
            if not isinstance(t.source, str):
                path = (*path, s_index)
            if source == ANY_STATE:
                continue
            if source not in wf.states:
                raise unknown(source, *path)
            if wf.states[source].final:
                raise fail(
                    file,
                    wf.line(*path),
                    f"终态 '{source}' 不能有出去的转换",
                    f"final state '{source}' cannot have outgoing transitions",
                )
        if t.dest not in wf.states:
            raise unknown(t.dest, "transitions", index, "dest")
        if wf.states[t.dest].approval:
            raise fail(
                file,
                wf.line("transitions", index, "dest"),
                f"审批状态 '{t.dest}' 只能通过检查结果进入(用 review 而不是 dest)",
                f"approval state '{t.dest}' is entered through findings (use review, not dest)",
            )
        if t.review is not None:
            if t.review not in wf.states:
                raise unknown(t.review, "transitions", index, "review")
            if not wf.states[t.review].approval:
                raise fail(
                    file,
                    wf.line("transitions", index, "review"),
                    f"review 必须是审批状态('{t.review}' 不是)",
                    f"review must be an approval state ('{t.review}' is not)",
                )
        elif t.checks and len(wf.approval_states()) > 1:
            raise fail(
                file,
                wf.line("transitions", index),
                f"有多个审批状态,触发器 '{t.trigger}' 需要写明 review",
                f"several approval states: trigger '{t.trigger}' must name its review state",
            )


def _check_triggers(wf: WorkflowDefinition, file: str) -> None:
    """Transitions sharing a trigger and a source must be told apart by conditions."""
    seen: dict[tuple[str, str], list[int]] = {}
    for index, t in enumerate(wf.transitions):
        for source in wf.expand_sources(t):
            earlier = seen.setdefault((source, t.trigger), [])
            for other_index in earlier:
                other = wf.transitions[other_index]
                line = wf.line("transitions", index, "trigger")
                if not other.conditions and not other.unless:
                    raise fail(
                        file,
                        line,
                        f"触发器 '{t.trigger}' 从 '{source}' 已由第 "
                        f"{wf.line('transitions', other_index)} 行定义且无条件,本转换永远不会执行",
                        f"trigger '{t.trigger}' from '{source}' is already defined at line "
                        f"{wf.line('transitions', other_index)} with no conditions; "
                        "add conditions to tell them apart",
                    )
                same_conditions = set(other.conditions) == set(t.conditions)
                if same_conditions and set(other.unless) == set(t.unless):
                    raise fail(
                        file,
                        line,
                        f"触发器 '{t.trigger}' 从 '{source}' 重复定义且条件相同",
                        f"duplicate trigger '{t.trigger}' from '{source}' with the same conditions",
                    )
                if wf.form_of(other, source) != wf.form_of(t, source):
                    raise fail(
                        file,
                        line,
                        f"触发器 '{t.trigger}' 从 '{source}' 的各转换必须收集同一个表单",
                        f"transitions of trigger '{t.trigger}' from '{source}' "
                        "must use the same form",
                    )
            earlier.append(index)


def _check_names(wf: WorkflowDefinition, file: str, registry: Registry) -> None:
    for kind, uses in wf.names_used().items():
        for name, path in uses:
            assert kind in ("check", "condition", "action")
            if not registry.has(kind, name):  # type: ignore[arg-type]
                raise DefinitionError(
                    registry.unknown_message(kind, name),  # type: ignore[arg-type]
                    file=file,
                    line=wf.line(*path),
                )


def _check_migration(wf: WorkflowDefinition, file: str) -> None:
    """The new side of ``migration``: where it sends cases must be open states of this file.

    Whether the old side exists is known only against an old version
    (``counter.engine.migration.migration_issues``).
    """
    migration = wf.migration
    if migration is None:
        return

    def open_state(name: str, *path: str | int) -> None:
        if name not in wf.states:
            hint = did_you_mean(name, list(wf.states))
            raise fail(
                file, wf.line(*path), f"未知状态 '{name}'{hint}", f"unknown state '{name}'{hint}"
            )
        if wf.states[name].final:
            raise fail(
                file,
                wf.line(*path),
                f"迁移不能把进行中的案件送到终态 '{name}'",
                f"a migration cannot send running cases to final state '{name}'",
            )

    for old, new in migration.states.items():
        open_state(new, "migration", "states", old)
        if old in migration.stay:
            raise fail(
                file,
                wf.line("migration", "stay", old),
                f"状态 '{old}' 不能既迁移又保留",
                f"state '{old}' cannot both move (states) and stay",
            )
    for index, required in enumerate(migration.required):
        form = required.field.split(".", 1)[0]
        if required.back_to is not None:
            open_state(required.back_to, "migration", "required", index, "back_to")
        elif not any(s.form == form for s in wf.states.values()):
            raise fail(
                file,
                wf.line("migration", "required", index, "field"),
                f"没有状态收集表单 '{form}':请写明 back_to",
                f"no state collects form '{form}': name the state in back_to",
            )


def _check_rekey(wf: WorkflowDefinition, file: str) -> None:
    """``rekey`` belongs to approval states, one entry per field name."""
    for name, state in wf.states.items():
        if state.rekey and not state.approval:
            raise fail(
                file,
                wf.line("states", name, "rekey"),
                f"rekey 只用于审批状态('{name}' 没有 approval: true)",
                f"rekey is for approval states ('{name}' is not approval: true)",
            )
        fields = [r.field.split(".", 1)[1] for r in state.rekey]
        for index, field in enumerate(fields):
            if fields.index(field) != index:
                raise fail(
                    file,
                    wf.line("states", name, "rekey", index),
                    f"重复的复核字段 '{field}'",
                    f"field '{field}' is re-keyed twice",
                )


def _check_authority(wf: WorkflowDefinition, file: str) -> None:
    """``authority`` belongs to approval states; its levels and remote roles may approve there."""
    for name, state in wf.states.items():
        authority = state.authority
        if authority is None:
            continue
        if not state.approval:
            raise fail(
                file,
                wf.line("states", name, "authority"),
                f"authority 只用于审批状态('{name}' 没有 approval: true)",
                f"authority is for approval states ('{name}' is not approval: true)",
            )
        for code, level in authority.findings.items():
            if level not in authority.levels:
                hint = did_you_mean(level, list(authority.levels))
                raise fail(
                    file,
                    wf.line("states", name, "authority", "findings", code),
                    f"'{level}' 不是 levels 之一{hint}",
                    f"'{level}' is not one of the levels{hint}",
                )
        roles = (*authority.levels, *authority.remote)
        missing = [r for r in roles if r not in state.approval_roles]
        if missing:
            raise fail(
                file,
                wf.line("states", name, "authority"),
                f"角色 {', '.join(missing)} 须列在 '{name}' 的 roles 中",
                f"role(s) {', '.join(missing)} must be listed in the roles of '{name}'",
            )


def _check_post_review(wf: WorkflowDefinition, file: str) -> None:
    """``post_review.states`` are final states of this workflow."""
    if wf.post_review is None:
        return
    for index, name in enumerate(wf.post_review.states):
        if name not in wf.states or not wf.states[name].final:
            raise fail(
                file,
                wf.line("post_review", "states", index),
                f"事后监督只抽取已结束的案件:'{name}' 不是终态",
                f"post review draws closed cases: '{name}' is not a final state",
            )


def parse_workflow(
    text: str, file: str, registry: Registry | None = None, *, expected_name: str | None = None
) -> WorkflowDefinition:
    """A workflow from YAML text; with a registry, its check/condition/action names too."""
    wf = _parse(WorkflowDefinition, text, file)
    if expected_name is not None and wf.name != expected_name:
        raise fail(
            file,
            wf.line("name"),
            f"流程名 '{wf.name}' 必须与文件名 '{expected_name}' 相同",
            f"workflow name '{wf.name}' must match the file name '{expected_name}'",
        )
    _check_states(wf, file)
    _check_triggers(wf, file)
    _check_migration(wf, file)
    _check_rekey(wf, file)
    _check_authority(wf, file)
    _check_post_review(wf, file)
    if registry is not None:
        _check_names(wf, file, registry)
    return wf

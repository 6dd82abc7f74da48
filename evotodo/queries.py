"""Querysets and INSERTs compiled once per process and run with other values: Django builds and compiles a
query's SQL on every evaluation (a third of a task retrieve's Python, and of its INSERT a task create's most
expensive statement), though from call to call only the values differ."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, ValuesListIterable
from django.db.models.signals import post_save, pre_save
from django.db.models.sql import InsertQuery
from django.db.transaction import TransactionManagementError

M = TypeVar("M", bound=Model)

# Stand-ins for the values while Django compiles: integers no id or count reaches, told apart by position.
SENTINEL_BASE = -(2**62)


def statement_cursor(connection: Any) -> Any:
    """`connection.cursor()` for the small statements of the hot paths (those compiled here, a change number's
    claim), on one database cursor per connection instead of a new one per statement: a new psycopg cursor
    sets up its adapters and loaders again, a fifth of a small statement's Python. Django does for it what it
    does for any cursor: the health check, a connection (re)opened, the thread check, and the queries logged
    when it logs them (tests, debug). Not to be closed, nor used for a large result (it holds its last result
    until the next statement); made again when the connection is."""
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    cursor = getattr(connection, "_statement_cursor", None)  # `django.db.connection` is a proxy: not its __dict__
    if cursor is None or getattr(cursor, "closed", False) or cursor.connection is not connection.connection:
        with connection.wrap_database_errors:
            cursor = connection.create_cursor()
        connection._statement_cursor = cursor
    return connection._prepare_cursor(cursor)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    positions: tuple[tuple[int, str], ...]  # (index in params, name of the value)
    model: type[Model] | None  # None: rows as tuples (values_list)
    fields: tuple[int, int, list[str]]  # the model's columns: start, end, attnames
    converters: tuple[tuple[int, list[Any], Any], ...]  # (column, converters, expression), as Django applies them
    annotations: tuple[tuple[str, int], ...]  # (attribute, column)
    for_update: bool  # select_for_update(): only within a transaction, as Django checks
    claimed_column: int  # the column of the claimed value (`fetch_claimed`), or -1


# The claimed value's column in a query that takes one (`CompiledQuery.fetch_claimed`).
CLAIMED_COLUMN = "claimed_value"


class CompiledQuery(Generic[M]):
    """`build(**values)` (a queryset of one model, its values integers) compiled by Django once per database
    alias, then run with other values of the same names: `fetch(**values)` returns the model instances the
    queryset would, made as Django's ModelIterable makes them (converters, `from_db`, annotations set as
    attributes), or for a `values_list()` queryset its tuples, converted as Django's ValuesListIterable does.
    Querysets that select related rows, defer fields, prefetch or yield anything else (`values()`, flat or
    named tuples) are refused when compiled; one that locks its rows (`select_for_update`) runs only within a
    transaction, as Django's own. With `claimed`, `fetch_claimed` also takes a value first (a counter's next
    number) in the same round trip. Tests hold its rows equal to the queryset's own.

    The compiled SQL depends only on the code and the database backend, so a copy per process needs no
    invalidation: a deploy restarts the processes. Compiling is idempotent: two threads that race both compile
    the same thing, and one copy is kept."""

    def __init__(self, build: Callable[..., QuerySet[M]], *names: str, claimed: Claimed | None = None) -> None:
        self.build = build
        self.names = names
        self.claimed = claimed
        self._compiled: dict[tuple[str, bool], _Compiled] = {}

    def fetch(self, using: str = DEFAULT_DB_ALIAS, **values: int) -> list[Any]:
        compiled = self._compiled.get((using, False)) or self._compile(using)
        return self._run(compiled, using, [], values)[0]

    def fetch_claimed(self, claim: list[Any], using: str = DEFAULT_DB_ALIAS, **values: int) -> tuple[list[Any], Any]:
        """`fetch`, and the value of the `claimed` column (`Claimed`, with the parameters `claim`), taken first:
        on PostgreSQL in the query's own statement (one round trip), joined to every row, so that a query that
        locks its rows (`select_for_update`) locks them only once the value is taken; elsewhere by
        `claimed.take` in a statement of its own before the query. The value is None when no row was found on
        PostgreSQL, where it was taken all the same (a data-modifying WITH query always runs to its end)."""
        if self.claimed is None:
            raise ValueError("fetch_claimed takes the value of a Claimed column: give CompiledQuery one")
        if connections[using].vendor != "postgresql":
            value = self.claimed.take(*claim)
            return self.fetch(using, **values), value
        compiled = self._compiled.get((using, True)) or self._compile(using, claimed=True)
        instances, rows = self._run(compiled, using, claim, values)
        return instances, (rows[0][compiled.claimed_column] if rows else None)

    def _run(
        self, compiled: _Compiled, using: str, leading: list[Any], values: dict[str, int]
    ) -> tuple[list[Any], list[tuple[Any, ...]]]:
        params = [*leading, *compiled.params]
        offset = len(leading)
        for index, name in compiled.positions:
            value = values[name]
            if type(value) is not int:
                raise TypeError(f"{name} must be an int, not {type(value).__name__}")
            params[offset + index] = value
        connection = connections[using]
        if compiled.for_update and connection.get_autocommit():
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        cursor = statement_cursor(connection)
        cursor.execute(compiled.sql, params)
        rows = cursor.fetchall()
        if compiled.model is None:
            return self._tuples(rows, compiled, connection), rows
        start, end, attnames = compiled.fields
        model: Any = compiled.model
        instances = []
        for row in rows:
            if compiled.converters:
                row = list(row)
                for column, converters, expression in compiled.converters:
                    value = row[column]
                    for converter in converters:
                        value = converter(value, expression, connection)
                    row[column] = value
            instance = model.from_db(using, attnames, row[start:end])
            for attribute, column in compiled.annotations:
                setattr(instance, attribute, row[column])
            instances.append(instance)
        return instances, rows

    @staticmethod
    def _tuples(rows: list[tuple[Any, ...]], compiled: _Compiled, connection: Any) -> list[tuple[Any, ...]]:
        """The rows of a values_list() queryset, converted as Django's `SQLCompiler.results_iter` does."""
        if not compiled.converters:
            return rows
        converted = []
        for row in rows:
            values = list(row)
            for column, converters, expression in compiled.converters:
                value = values[column]
                for converter in converters:
                    value = converter(value, expression, connection)
                values[column] = value
            converted.append(tuple(values))
        return converted

    def _compile(self, using: str, claimed: bool = False) -> _Compiled:
        sentinels = {name: SENTINEL_BASE - i for i, name in enumerate(self.names)}
        queryset = self.build(**sentinels).using(using)
        if claimed:
            # The WITH query joined as a table of one row: no row reaches the lock (FOR UPDATE OF the model's
            # table only) before the value is taken.
            # `extra` takes the join Django has no other way to write; its SQL is fixed here, it takes no value.
            queryset = queryset.extra(select={CLAIMED_COLUMN: "claimed.value"}, tables=["claimed"])  # noqa: S610
            if queryset.query.select_for_update:
                queryset = queryset.select_for_update(of=("self",))
        query = queryset.query
        if (
            queryset._iterable_class not in (ModelIterable, ValuesListIterable)
            or queryset._prefetch_related_lookups
            or queryset._known_related_objects
            or query.select_related
            or query.deferred_loading != (frozenset(), True)
            or query.combinator
        ):
            raise ValueError("CompiledQuery takes plain querysets of model instances")
        compiler = query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        by_value = {value: name for name, value in sentinels.items()}
        positions = tuple(
            (index, by_value[value]) for index, value in enumerate(params) if type(value) is int and value in by_value
        )
        if sorted({name for _, name in positions}) != sorted(self.names):
            raise ValueError(f"not every value of {self.names} reached the SQL as a parameter: {sql}")
        selected = [column[0] for column in compiler.select[: compiler.col_count]]
        if queryset._iterable_class is ValuesListIterable:
            if compiler.has_composite_fields(selected):
                raise ValueError("CompiledQuery does not take composite fields")
            model, start, end, attnames = None, 0, 0, []
        else:
            select_fields = compiler.klass_info["select_fields"]
            start, end = select_fields[0], select_fields[-1] + 1
            attnames = [column[0].target.attname for column in compiler.select[start:end]]
            model = compiler.klass_info["model"]
        converters = compiler.get_converters(selected)
        annotations = dict(compiler.annotation_col_map)
        claimed_column = annotations.pop(CLAIMED_COLUMN) if claimed else -1
        if claimed:
            sql = f"WITH claimed(value) AS ({cast(Claimed, self.claimed).sql}) {sql}"
        compiled = _Compiled(
            sql=sql,
            params=tuple(params),
            positions=positions,
            model=model,
            fields=(start, end, attnames),
            converters=tuple((column, funcs, expression) for column, (funcs, expression) in converters.items()),
            annotations=tuple(annotations.items()),
            for_update=query.select_for_update,
            claimed_column=claimed_column,
        )
        self._compiled[(using, claimed)] = compiled
        return compiled


@dataclass(frozen=True)
class _CompiledInsert:
    sql: str
    ctes: str  # its WITH clause's queries, or "" (`claimed(value) AS (…)`)
    statement: str  # the INSERT … RETURNING itself
    fields: tuple[Any, ...]  # the columns given a parameter, in the order of their placeholders
    returning: tuple[Any, ...]  # the fields the database returns (the id), set on the instance afterwards
    returning_params: tuple[Any, ...]  # the backend's (Oracle binds the returned values)
    converters: dict[int, tuple[list[Any], Any]]


@dataclass(frozen=True)
class Claimed:
    """A column whose value another row gives, taken in the INSERT's own statement: `sql` is a data-modifying
    statement returning the value as its only column (e.g. a counter's next number, `UPDATE … RETURNING`), run
    as the INSERT's WITH clause on PostgreSQL, with the parameters `insert(…, claim=…)` gives it; elsewhere (or
    when Django saves the instance) `take(*params)` takes the value in a statement of its own first. Either
    way the instance has the value afterwards."""

    field: str
    sql: str
    take: Callable[..., Any]


class CompiledInsert(Generic[M]):
    """`instance.save()` of a new instance of `model`, the INSERT compiled by Django once per database alias:
    `insert(instance)` sends the statement Django's `save()` would, with the values Django prepares
    (`pre_save`, such as auto_now, then `get_db_prep_save`), and sets the id and the instance's state as it
    does. A model with a `save()` of its own, parents or `order_with_respect_to`, or a field with a placeholder of
    its own, is refused when compiled; an instance that somebody listens to the saving of (pre_save or
    post_save), or with an expression for a value, is saved by Django. With `claimed`, `insert(instance,
    claim=params)` also takes that column's value (`Claimed`). Tests hold its rows equal to `save()`'s.

    As with `CompiledQuery`, the SQL depends only on the code and the database backend: a copy per process."""

    def __init__(self, model: type[M], claimed: Claimed | None = None) -> None:
        self.model = model
        self.claimed = claimed
        self._compiled: dict[tuple[str, bool], _CompiledInsert] = {}
        self._beside_sql: dict[tuple[Any, ...], str] = {}  # `from_inserted`'s and `statement`'s, by alias, expressions

    def insert(
        self,
        instance: M,
        using: str = DEFAULT_DB_ALIAS,
        claim: list[Any] | None = None,
        beside: Callable[[], list[tuple[str, list[Any]]]] | None = None,
    ) -> None:
        """INSERT the instance; with `claim` (the parameters of `claimed.sql`), its claimed column's value too.

        `beside`, only where `takes_beside(using)`, gives other INSERTs (SQL and parameters, such as
        `from_inserted` makes) that read the inserted row as `inserted`, to run in the same statement: one
        round trip, and all of it or nothing of it. It is called once the instance's values are prepared
        (`pre_save` sets auto_now), before anything is sent."""
        connection = connections[using]
        if claim is not None and self.claimed is None:
            raise ValueError("claim= takes the value of a Claimed column: give CompiledInsert one")
        if beside is not None and not self.takes_beside(using):
            raise ValueError(f"the INSERT of {self.model._meta.label} cannot take other INSERTs beside it here")
        in_statement = claim is not None and connection.vendor == "postgresql"
        if claim is not None and not in_statement:
            self._take(instance, claim)
        untaken = claim if in_statement else None  # what the statement is to take, unless Django saves instead
        if pre_save.has_listeners(self.model) or post_save.has_listeners(self.model):
            self._save(instance, using, untaken)
            return
        compiled = self._compiled.get((using, in_statement)) or self._compile(using, in_statement)
        params = _prepared(compiled, instance, connection)
        if params is None:
            if beside is not None:
                raise ValueError("an INSERT with other INSERTs beside it takes values, not expressions")
            self._save(instance, using, untaken)
            return
        sql, params = compiled.sql, [*(untaken or ()), *params, *compiled.returning_params]
        if beside is not None:
            statements = beside()
            ctes = [compiled.ctes] if compiled.ctes else []
            ctes.append(f"inserted AS ({compiled.statement})")
            ctes.extend(f"beside_{index} AS ({statement})" for index, (statement, _) in enumerate(statements))
            sql = f"WITH {', '.join(ctes)} SELECT * FROM inserted"  # noqa: S608 (compiled SQL, no values)
            params.extend(param for _, beside_params in statements for param in beside_params)
        with transaction.mark_for_rollback_on_error(using):
            cursor = statement_cursor(connection)
            cursor.execute(sql, params)
            if compiled.returning:
                returned = list(connection.ops.fetch_returned_insert_columns(cursor, compiled.returning_params))
        if compiled.returning:
            for index, (converters, expression) in compiled.converters.items():
                for converter in converters:
                    returned[index] = converter(returned[index], expression, connection)
            for field, value in zip(compiled.returning, returned, strict=True):
                setattr(instance, field.attname, value)
        instance._state.adding = False
        instance._state.db = using

    def takes_beside(self, using: str = DEFAULT_DB_ALIAS) -> bool:
        """Whether `insert(…, beside=…)` can run other INSERTs in this one's statement: on PostgreSQL (whose
        data-modifying WITH queries take them), with nobody listening to the saving of the model (as Django would
        save it, in a statement of its own)."""
        return connections[using].vendor == "postgresql" and not (
            pre_save.has_listeners(self.model) or post_save.has_listeners(self.model)
        )

    def from_inserted(
        self, instance: M, expressions: dict[str, str], using: str = DEFAULT_DB_ALIAS
    ) -> tuple[str, list[Any]]:
        """The INSERT of `instance` as one to run beside another model's (`insert(…, beside=…)`): `INSERT …
        SELECT … FROM inserted`, each column named in `expressions` given that SQL expression over the `inserted`
        row, in which `%s` stands for the instance's value of the column. Its values are prepared as `insert`
        prepares them; the instance learns nothing back (not even its id)."""
        return self._beside(instance, using, expressions)

    def statement(self, instance: M, using: str = DEFAULT_DB_ALIAS) -> tuple[str, list[Any]]:
        """The INSERT of `instance` (`INSERT … VALUES`) as one to run beside another statement
        (`CompiledUpdate.update(…, beside=…)`), its values prepared as `insert` prepares them; the instance learns
        nothing back (not even its id)."""
        return self._beside(instance, using, None)

    def _beside(self, instance: M, using: str, expressions: dict[str, str] | None) -> tuple[str, list[Any]]:
        if not self.takes_beside(using):
            raise ValueError(f"the INSERT of {self.model._meta.label} cannot run beside another here")
        connection = connections[using]
        compiled = self._compiled.get((using, False)) or self._compile(using, False)
        params = _prepared(compiled, instance, connection)
        if params is None:
            raise ValueError("an INSERT run beside another takes values, not expressions")
        key = (using, None if expressions is None else tuple(expressions.items()))
        sql = self._beside_sql.get(key)
        if sql is None:
            if expressions is not None:  # checked once, when their SQL is first written
                if any(expression.count("%s") != 1 for expression in expressions.values()):
                    raise ValueError("each expression takes its column's value as its one %s")
                unknown = set(expressions) - {field.name for field in self.model._meta.local_concrete_fields}
                if unknown:
                    raise ValueError(f"{self.model._meta.label} has no column named {', '.join(sorted(unknown))}")
            quote = connection.ops.quote_name
            columns = ", ".join(quote(field.column) for field in compiled.fields)
            table = quote(self.model._meta.db_table)
            if expressions is None:
                source = "VALUES (" + ", ".join("%s" for _ in compiled.fields) + ")"
            else:
                selected = ", ".join(expressions.get(field.name, "%s") for field in compiled.fields)
                source = f"SELECT {selected} FROM inserted"  # noqa: S608 (the caller's expressions, no values)
            sql = self._beside_sql[key] = f"INSERT INTO {table} ({columns}) {source}"
        return sql, params

    def _save(self, instance: M, using: str, claim: list[Any] | None) -> None:
        """Django's save(), the claimed value taken first when the statement was to take it."""
        if claim is not None:
            self._take(instance, claim)
        instance.save(force_insert=True, using=using)

    def _take(self, instance: M, claim: list[Any]) -> None:
        claimed = cast(Claimed, self.claimed)
        setattr(instance, self.model._meta.get_field(claimed.field).attname, claimed.take(*claim))

    def _compile(self, using: str, in_statement: bool) -> _CompiledInsert:
        opts = self.model._meta
        fields = [field for field in opts.local_concrete_fields if not field.generated and field is not opts.auto_field]
        if (
            self.model.save is not Model.save  # its own save() would be skipped
            or opts.parents
            or opts.order_with_respect_to
            or any(hasattr(field, "get_placeholder") for field in fields)
        ):
            raise ValueError(f"CompiledInsert does not take {opts.label}")
        connection = connections[using]
        returning = opts.db_returning_fields if connection.features.can_return_columns_from_insert else []
        if not connection.features.can_return_columns_from_insert and opts.auto_field:
            raise ValueError("CompiledInsert needs a database that returns the inserted id")
        claim_sql = self.claimed.sql if in_statement and self.claimed is not None else None
        claimed = opts.get_field(self.claimed.field) if claim_sql is not None else None
        # Django compiles the INSERT of an instance: only its SQL is kept, the values are prepared per call.
        query = InsertQuery(self.model)
        query.insert_values(fields, [self.model()])
        compiler = query.get_compiler(using=using)
        compiler.returning_fields = [*returning, claimed] if claimed is not None else returning
        ((sql, params),) = compiler.as_sql()
        if len(params) != len(fields) + len(compiler.returning_params):
            raise ValueError(f"every column of {opts.label} must be one parameter: {sql}")
        if claimed is not None:
            # The claimed column's placeholder becomes the WITH clause's value: one statement, one round trip.
            values = "VALUES (" + ", ".join("%s" for _ in fields) + ")"
            if sql.count(values) != 1:
                raise ValueError(f"CompiledInsert cannot claim a column in {sql}")
            claimed_values = ", ".join("(SELECT value FROM claimed)" if field is claimed else "%s" for field in fields)
            statement = sql.replace(values, f"VALUES ({claimed_values})")
            ctes = f"claimed(value) AS ({claim_sql})"
            sql = f"WITH {ctes} {statement}"
            fields = [field for field in fields if field is not claimed]
            returning = [*returning, claimed]
        else:
            statement, ctes = sql, ""
        columns = [field.get_col(opts.db_table) for field in returning]
        compiled = _CompiledInsert(
            sql=sql,
            ctes=ctes,
            statement=statement,
            fields=tuple(fields),
            returning=tuple(returning),
            returning_params=tuple(compiler.returning_params),
            converters=compiler.get_converters(columns),
        )
        self._compiled[(using, in_statement)] = compiled
        return compiled


def _prepared(compiled: _CompiledInsert, instance: Model, connection: Any) -> list[Any] | None:
    """The values of a compiled INSERT's columns as Django's `save()` prepares them (`pre_save`, such as
    auto_now, then `get_db_prep_save`); None when one is an expression, which only Django's `save()` takes."""
    values = [field.pre_save(instance, True) for field in compiled.fields]
    if any(hasattr(value, "resolve_expression") for value in values):
        return None
    return [field.get_db_prep_save(value, connection) for field, value in zip(compiled.fields, values, strict=True)]


@dataclass(frozen=True)
class _CompiledUpdate:
    sql: str
    fields: tuple[Any, ...]  # the columns set, in the order of their placeholders; then the id


class CompiledUpdate(Generic[M]):
    """`instance.save(update_fields=fields)` of a saved instance of `model` (every column when `fields` is None),
    the UPDATE written once per database alias and set of fields: `update(instance, fields)` sends the statement
    Django's `save()` would, with the values Django prepares (`pre_save`, such as auto_now, then
    `get_db_prep_save`), and leaves the instance as `save()` does. As `CompiledInsert`, it refuses what it could
    not do the same (a `save()` of its own, parents, a field with a placeholder of its own) and leaves to
    Django an instance that somebody listens to the saving of, or with an expression for a value. No row
    updated is Django's own error. Tests hold its rows equal to `save()`'s."""

    def __init__(self, model: type[M]) -> None:
        opts = model._meta
        if model.save is not Model.save or opts.parents or len(opts.pk_fields) != 1:
            raise ValueError(f"CompiledUpdate does not take {opts.label}")
        self.model = model
        self._compiled: dict[tuple[str, tuple[str, ...] | None], _CompiledUpdate] = {}

    def update(
        self,
        instance: M,
        fields: Iterable[str] | None = None,
        using: str = DEFAULT_DB_ALIAS,
        beside: Callable[[], list[tuple[str, list[Any]]]] | None = None,
    ) -> bool:
        """UPDATE the instance. `beside` gives other statements (SQL and parameters: INSERTs that read no row,
        such as `CompiledInsert.statement` makes) to run in the UPDATE's own statement on PostgreSQL, as its
        WITH queries: one round trip, all of it or nothing. It is called once the instance's values are
        prepared (`pre_save` sets auto_now), before anything is sent. Returns whether they ran there; when
        they could not (another database, or Django saves the instance), the UPDATE ran alone and the caller
        runs them its own way."""
        names = None if fields is None else tuple(fields)
        if (
            pre_save.has_listeners(self.model)
            or post_save.has_listeners(self.model)
            or (names is None and instance.get_deferred_fields())  # Django updates the loaded fields only
        ):
            instance.save(update_fields=names, using=using)
            return False
        compiled = self._compiled.get((using, names)) or self._compile(using, names)
        instance._prepare_related_fields_for_save(operation_name="save")
        values = [field.pre_save(instance, False) for field in compiled.fields]
        if any(hasattr(value, "resolve_expression") for value in values):
            instance.save(update_fields=names, using=using)
            return False
        connection = connections[using]
        params = [
            field.get_db_prep_save(value, connection) for field, value in zip(compiled.fields, values, strict=True)
        ]
        params.append(self.model._meta.pk.get_db_prep_value(instance.pk, connection))
        sql, besides = compiled.sql, beside is not None and connection.vendor == "postgresql"
        if besides:
            statements = cast(Callable[[], list[tuple[str, list[Any]]]], beside)()
            if statements:
                ctes = ", ".join(f"beside_{index} AS ({statement})" for index, (statement, _) in enumerate(statements))
                sql = f"WITH {ctes} {sql}"
                params[:0] = [param for _, beside_params in statements for param in beside_params]
        with transaction.mark_for_rollback_on_error(using):  # as Django's save(), no row updated marks it too
            cursor = statement_cursor(connection)
            cursor.execute(sql, params)
            if not cursor.rowcount:
                raise DatabaseError("Save with update_fields did not affect any rows.")
        instance._state.adding = False
        instance._state.db = using
        return besides

    def _compile(self, using: str, names: tuple[str, ...] | None) -> _CompiledUpdate:
        opts = self.model._meta
        fields = [field for field in opts.local_concrete_fields if not field.generated and not field.primary_key]
        if names is not None:
            unknown = set(names) - {field.name for field in fields} - {field.attname for field in fields}
            if unknown:
                raise ValueError(f"{opts.label} has no field to update named {', '.join(sorted(unknown))}")
            fields = [field for field in fields if field.name in names or field.attname in names]
        if not fields or any(hasattr(field, "get_placeholder") for field in fields):
            raise ValueError(f"CompiledUpdate cannot update {names} of {opts.label}")
        quote = connections[using].ops.quote_name
        table = quote(opts.db_table)
        assignments = ", ".join(f"{quote(field.column)} = %s" for field in fields)
        compiled = _CompiledUpdate(
            sql=f"UPDATE {table} SET {assignments} WHERE {table}.{quote(opts.pk.column)} = %s",  # noqa: S608
            fields=tuple(fields),
        )
        self._compiled[(using, names)] = compiled
        return compiled


# Rows a statement of `update_rows` where it runs Django's bulk UPDATE: that sets each column with a CASE of one
# WHEN per row, which the database reads through for every row, so a statement's cost grows with the square of
# its rows (and Django's Python builds and compiles a WHEN per row and column).
BULK_UPDATE_BATCH = 500


def update_rows(model: type[M], rows: list[M], fields: list[str], using: str = DEFAULT_DB_ALIAS) -> None:
    """Write these columns of saved rows from the instances' values, as `bulk_update(rows, fields)`: on
    PostgreSQL in one statement whatever the number of rows, `UPDATE … FROM unnest(…)` with an array of values
    a column (a parameter each, so thousands of rows stay within a statement's 65 535), elsewhere through
    Django's `bulk_update` in batches. The values are prepared as Django prepares them (`get_db_prep_save`);
    no expressions. Tests hold the two ways equal (evotodo/tests/test_update_rows.py)."""
    if not rows:
        return
    connection = connections[using]
    opts = model._meta
    columns = [opts.pk, *(opts.get_field(name) for name in fields)]
    if connection.vendor != "postgresql":
        model.objects.using(using).bulk_update(rows, fields, batch_size=BULK_UPDATE_BATCH)
        return
    quote = connection.ops.quote_name
    arrays = ", ".join(f"%s::{field.db_type(connection)}[]" for field in columns)
    names = ", ".join(quote(field.column) for field in columns)
    sql = (
        f"UPDATE {quote(opts.db_table)} SET "  # noqa: S608 (the model's own names, no values)
        + ", ".join(f"{quote(field.column)} = v.{quote(field.column)}" for field in columns[1:])
        + f" FROM unnest({arrays}) AS v({names}) WHERE {quote(opts.db_table)}.{quote(opts.pk.column)} = "
        f"v.{quote(opts.pk.column)}"
    )
    params = [[field.get_db_prep_save(getattr(row, field.attname), connection) for row in rows] for field in columns]
    with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
        cursor.execute(sql, params)

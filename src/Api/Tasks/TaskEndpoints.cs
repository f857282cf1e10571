using Aetherra.Api.Auth;
using Aetherra.Api.Http;
using Aetherra.Application.Common;
using Aetherra.Application.Keys;
using Aetherra.Application.Tasks;
using Aetherra.Infrastructure.Database;
using FluentValidation;
using Marten;
using Microsoft.AspNetCore.Authorization;
using Npgsql;
using Wolverine.Http;

namespace Aetherra.Api.Tasks;

/// <summary>The durable task queue over HTTP: bind, authorise (by attribute), call the use case, answer.</summary>
public static class TaskEndpoints
{
    [WolverinePost("/tasks", OperationId = TaskActions.Create), Authorize(Policy = Scopes.TasksWrite)]
    public static async Task<IResult> Create(CreateTask body, HttpContext http, IDocumentStore store, TimeProvider clock, CancellationToken ct)
    {
        var r = await CreateTaskHandler.Handle(body, http.Command(), store, clock, ct);
        return Results.Created($"/tasks/{r.Id}", r);
    }

    /// <summary>200 with the claimed task, or 204 when no task is ready for this agent.</summary>
    [WolverinePost("/tasks/claim", OperationId = TaskActions.Claim), Authorize(Policy = Scopes.TasksWrite)]
    public static async Task<IResult> Claim(ClaimTask body, HttpContext http, IDocumentStore store, TimeProvider clock, ILogger<ClaimTask> log,
        ClaimConnections connections, CancellationToken ct) =>
        await ClaimTaskHandler.Handle(body, http.Command(), store, clock, ct, log, connections) is { } claimed ? Results.Ok(claimed) : Results.NoContent();

    [WolverinePost("/tasks/{id}/heartbeat", OperationId = TaskActions.Heartbeat), Authorize(Policy = Scopes.TasksWrite)]
    public static Task<TaskMoveResult> Heartbeat(Guid id, HeartbeatTask body, HttpContext http, IDocumentStore store, TimeProvider clock,
        CancellationToken ct) =>
        HeartbeatTaskHandler.Handle(id, body, http.Command(), store, clock, ct);

    [WolverinePost("/tasks/{id}/complete", OperationId = TaskActions.Complete), Authorize(Policy = Scopes.TasksWrite)]
    public static Task<TaskMoveResult> Complete(Guid id, CompleteTask body, HttpContext http, IDocumentStore store, TimeProvider clock,
        CancellationToken ct) =>
        CompleteTaskHandler.Handle(id, body, http.Command(), store, clock, ct);

    [WolverinePost("/tasks/{id}/fail", OperationId = TaskActions.Fail), Authorize(Policy = Scopes.TasksWrite)]
    public static Task<TaskMoveResult> Fail(Guid id, FailTask body, HttpContext http, IDocumentStore store, TimeProvider clock,
        CancellationToken ct) =>
        FailTaskHandler.Handle(id, body, http.Command(), store, clock, ct);

    [WolverinePost("/tasks/{id}/cancel", OperationId = TaskActions.Cancel), Authorize(Policy = Scopes.TasksWrite)]
    public static Task<TaskMoveResult> Cancel(Guid id, CancelTask body, HttpContext http, IDocumentStore store, TimeProvider clock,
        CancellationToken ct) =>
        CancelTaskHandler.Handle(id, body, http.Command(), store, clock, ct);

    [WolverineGet("/tasks/{id}", OperationId = "task.get"), Authorize(Policy = Scopes.TasksRead)]
    public static async Task<TaskView> Get(Guid id, long? minSequence, HttpContext http, IDocumentStore store, TenantDatabases databases,
        TimeProvider clock, CancellationToken ct)
    {
        var db = databases.For(http.User.Tenant());
        await Consistency.WaitForAsync(db, minSequence, clock, ct);
        await using var session = store.QuerySession(http.User.Tenant());
        return await ReadTasks.Get(id, session, ct);
    }

    [WolverineGet("/tasks", OperationId = "task.list"), Authorize(Policy = Scopes.TasksRead)]
    public static async Task<IResult> List(string? status, string? agent, int? limit, long? minSequence, HttpContext http,
        IValidator<TaskQuery> validator, IDocumentStore store, TenantDatabases databases, TimeProvider clock, CancellationToken ct)
    {
        var db = databases.For(http.User.Tenant());
        var query = new TaskQuery(status, agent, limit);
        var validation = await validator.ValidateAsync(query, ct);
        if (!validation.IsValid) return RequestValidation.Invalid(http, validation);
        await Consistency.WaitForAsync(db, minSequence, clock, ct);
        await using var session = store.QuerySession(http.User.Tenant());
        return Results.Ok(new { items = await ReadTasks.List(query, session, ct) });
    }
}

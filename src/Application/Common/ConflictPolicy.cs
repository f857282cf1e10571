using JasperFx;
using Marten;
using Marten.Exceptions;

namespace Aetherra.Application.Common;

/// <summary>
/// The one conflict policy of every aggregate. A write conflicts when its stream moved between the read and the commit
/// (or a new stream's id was taken meanwhile): Marten refuses the whole commit, nothing of it is written. Then:
/// <list type="bullet">
/// <item>Where the client decided on a version it read (<c>expectedVersion</c>, or a move of what it saw), the conflict
/// is the client's to resolve: <see cref="AnswerAsync{T}(Func{Task{T}}, Func{Task{Exception}})"/> answers 409 with the
/// stream's <c>currentVersion</c> (<see cref="VersionConflict"/>), never retried behind its back.</item>
/// <item>Where the server owns the ordering (no version from the client: a decision, an outcome, a turn, a
/// reinforcement, the autonomy policy), <see cref="RetryAsync{T}"/> reads again and decides again, a bounded number of
/// times, so no update is lost and none is applied to stale state; past the bound it is a conflict like the first.</item>
/// </list>
/// </summary>
public static class ConflictPolicy
{
    /// <summary>Attempts of a server-ordered command before its conflict is answered.</summary>
    public const int Attempts = 5;

    /// <summary>The store refused the commit because a stream moved since it was read, or a new stream's id is taken.</summary>
    public static bool IsConflict(Exception e) =>
        e is ConcurrencyException or ExistingStreamIdCollisionException or JasperFx.Events.EventStreamUnexpectedMaxEventIdException;

    /// <summary>A new stream's id (or its snapshot's key) is already taken: the thing exists already.</summary>
    public static bool IsTaken(Exception e) => e is ExistingStreamIdCollisionException || Sessions.IsUniqueViolation(e, "pkey");

    /// <summary>The client's branch: a conflict is answered with <paramref name="conflict"/> (409 with the current version).</summary>
    public static async Task<T> AnswerAsync<T>(Func<Task<T>> write, Func<Task<Exception>> conflict)
    {
        try
        {
            return await write();
        }
        catch (Exception e) when (IsConflict(e))
        {
            throw await conflict();
        }
    }

    /// <inheritdoc cref="AnswerAsync{T}(Func{Task{T}}, Func{Task{Exception}})"/>
    public static Task<T> AnswerAsync<T>(Func<Task<T>> write, Func<Exception> conflict) =>
        AnswerAsync(write, () => Task.FromResult(conflict()));

    /// <summary>
    /// The server's branch: each attempt opens its own session, reads, decides and commits; a conflict runs it again
    /// (after <paramref name="pause"/>, if any) up to <paramref name="attempts"/> times, then is answered with
    /// <paramref name="exhausted"/> (or left to the edge, which answers 409).
    /// </summary>
    public static async Task<T> RetryAsync<T>(
        Func<Task<T>> write, Func<Task<Exception>>? exhausted = null, int attempts = Attempts, Func<int, Task>? pause = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await write();
            }
            catch (Exception e) when (IsConflict(e))
            {
                if (attempt >= attempts)
                {
                    if (exhausted is null) throw;
                    throw await exhausted();
                }
                if (pause is not null) await pause(attempt);
            }
        }
    }

    /// <summary>
    /// The answer to a conflict on an aggregate: one that exists is at its current version (409 with it); one that
    /// does not (an unknown id, or another tenant's, whose stream this tenant sees at version 0) is not found.
    /// </summary>
    public static async Task<Exception> CurrentVersionAsync<TAggregate>(
        IDocumentStore store, string tenant, Guid id, string what, Func<TAggregate, long> version, CancellationToken ct)
        where TAggregate : notnull
    {
        await using var query = store.QuerySession(tenant);
        return Answer(await query.LoadAsync<TAggregate>(id, ct), what, version);
    }

    /// <inheritdoc cref="CurrentVersionAsync{TAggregate}(IDocumentStore, string, Guid, string, Func{TAggregate, long}, CancellationToken)"/>
    public static async Task<Exception> CurrentVersionAsync<TAggregate>(
        IDocumentStore store, string tenant, string id, string what, Func<TAggregate, long> version, CancellationToken ct)
        where TAggregate : notnull
    {
        await using var query = store.QuerySession(tenant);
        return Answer(await query.LoadAsync<TAggregate>(id, ct), what, version);
    }

    private static Exception Answer<TAggregate>(TAggregate? current, string what, Func<TAggregate, long> version) where TAggregate : notnull =>
        current is null ? new NotFound(what) : new VersionConflict(version(current));
}

/// <summary>The client's version (given, or the one it acted on) is not the stream's: 409 with the current version.</summary>
public sealed class VersionConflict(long currentVersion)
    : Exception($"the resource is at version {currentVersion}; reload it and retry")
{
    public long CurrentVersion { get; } = currentVersion;
}

using System.Data.Common;
using Weasel.Core;
using Weasel.Postgresql;
using Weasel.Storage;

namespace Aetherra.Infrastructure.Crypto;

/// <summary>
/// One statement of a write's own batch that proves its cached subject key alive (see
/// <see cref="SubjectKeyStore.ProofSql"/>): no extra round trip, and it fails the transaction when the key is gone.
/// An operation of its own rather than Marten's QueueSqlCommand because it answers a row, which Marten must
/// step over before the next operation's results.
/// </summary>
public sealed class SubjectKeyProof(string tenant, string subject, Guid keyId) : Marten.Internal.Operations.IStorageOperation
{
    /// <summary>
    /// Queues the proof into the session's batch: the shared advisory lock, then the check (two operations, in this
    /// order), or the check under FOR KEY SHARE alone when AETHERRA_KEY_PROOF=row.
    /// </summary>
    public static void Queue(Marten.IDocumentSession session, string tenant, string subject, Guid keyId)
    {
        if (!MeasurementSwitches.RowLockKeyProof) session.QueueOperation(new SubjectKeyLock(tenant, subject));
        session.QueueOperation(new SubjectKeyProof(tenant, subject, keyId));
    }

    public Type DocumentType => typeof(Marten.Storage.StorageFeatures);

    public void ConfigureCommand(Weasel.Postgresql.ICommandBuilder builder, IStorageSession session)
    {
        var parameters = builder.AppendWithParameters(MeasurementSwitches.RowLockKeyProof ? SubjectKeyStore.RowLockProofSql : SubjectKeyStore.ProofSql, '?');
        parameters[0].Value = tenant;
        parameters[1].Value = subject;
        parameters[2].NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Uuid;
        parameters[2].Value = keyId;
    }

    public Task PostprocessAsync(DbDataReader reader, IList<Exception> exceptions, CancellationToken token) => Task.CompletedTask;

    public OperationRole Role() => OperationRole.Other;
}

/// <summary>The shared advisory lock a <see cref="SubjectKeyProof"/> runs after (<see cref="SubjectKeyStore.ProofLockSql"/>).</summary>
public sealed class SubjectKeyLock(string tenant, string subject) : Marten.Internal.Operations.IStorageOperation
{
    public Type DocumentType => typeof(Marten.Storage.StorageFeatures);

    public void ConfigureCommand(Weasel.Postgresql.ICommandBuilder builder, IStorageSession session)
    {
        var parameters = builder.AppendWithParameters(SubjectKeyStore.ProofLockSql, '?');
        parameters[0].Value = tenant;
        parameters[1].Value = subject;
    }

    public Task PostprocessAsync(DbDataReader reader, IList<Exception> exceptions, CancellationToken token) => Task.CompletedTask;

    public OperationRole Role() => OperationRole.Other;
}

global using Aetherra.Domain;
global using Aetherra.Domain.Memory;
global using Xunit;
global using MemoryState = Aetherra.Domain.Memory.Memory;

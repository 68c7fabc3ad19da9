// Preloaded into each drey the scale benchmark starts (node --import): answers the benchmark's
// memory probes over the IPC channel, and stops drey when the benchmark goes away, so no drey
// outlives it even if it is killed.
process.on('message', (message) => {
  if (message?.probe !== 'memory') return;
  globalThis.gc?.();
  process.send?.({ probe: 'memory', ...process.memoryUsage() });
});
process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
process.channel?.unref();

// The footprint floor of discord-hybrid-sharding: a process that loads it and does nothing else.
require('discord-hybrid-sharding');

setInterval(() => {}, 1 << 30);

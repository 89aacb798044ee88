DROP TABLE lease;
DROP TABLE id_counters;
DROP TABLE sessions;
DROP TABLE space_objects;
DROP TABLE users;

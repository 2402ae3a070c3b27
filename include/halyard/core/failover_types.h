/*
 * failover_types.h: the failover settings a backend and the config carry
 * (config.h), apart from the decisions that use them (failover.h).
 */
#ifndef HALYARD_FAILOVER_TYPES_H
#define HALYARD_FAILOVER_TYPES_H

/* A backend's promotion rule. */
enum promotion {
    PROMOTION_NEUTRAL = 0, /* by position, zone and config order */
    PROMOTION_PREFER,      /* before an equally advanced neutral one */
    PROMOTION_NEVER,       /* never promoted */
};

/* Which replicas failover may promote, by the lost primary's zone. */
enum failover_zones {
    FAILOVER_ZONES_SAME_FIRST = 0, /* its zone's before others equally advanced */
    FAILOVER_ZONES_SAME_ONLY,      /* its zone's only */
    FAILOVER_ZONES_ANY,            /* every zone alike */
};

#endif /* HALYARD_FAILOVER_TYPES_H */

select max_lost_leases from durable.settings where false;
select lost_leases, max_lost_leases from durable.workflows where false;
